import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextBackoff, throttled } from '../../../flanneld/subnet/backoff';
import { throttleGate } from '../../../flanneld/log';
import { prefixEnd } from '../../../flanneld/subnet/registry';

test('backoff doubles from min to max with jitter in [50 %, 100 %]', () => {
  assert.equal(nextBackoff(0, 1000, 30000, () => 0.999999), 1000);
  assert.equal(nextBackoff(1000, 1000, 30000, () => 0.999999), 2000);
  assert.equal(nextBackoff(1000, 1000, 30000, () => 0), 1000);
  assert.equal(nextBackoff(20000, 1000, 30000, () => 0.999999), 30000);
  assert.equal(nextBackoff(20000, 1000, 30000, () => 0), 15000);
});

test('throttled logger: one line per distinct message per window', () => {
  let t = 0;
  const out: string[] = [];
  const log = throttled((_l, m) => out.push(m), 30000, () => t);
  log('warn', 'a'); log('warn', 'a'); log('warn', 'b');
  t = 29999; log('warn', 'a');
  t = 30000; log('warn', 'a');
  assert.deepEqual(out, ['a', 'b', 'a']);
});

test('prefixEnd: the last byte incremented', () => {
  assert.equal(prefixEnd('/coreos.com/network/subnets/').toString(), '/coreos.com/network/subnets0');
});

test('throttleGate: counts what it dropped, and forgets all keys at its bound (error texts are unbounded)', () => {
  let t = 0;
  const gate = throttleGate(() => t, 2);
  assert.deepEqual(gate('a', 1000), { dropped: 0, sinceMs: 0 });
  assert.equal(gate('a', 1000), undefined);
  assert.equal(gate('a', 1000), undefined);
  t = 1000;
  assert.deepEqual(gate('a', 1000), { dropped: 2, sinceMs: 1000 });
  assert.ok(gate('b', 1000));
  assert.ok(gate('c', 1000)); // the third key clears the map
  assert.ok(gate('a', 1000), 'a was forgotten, so it passes inside its window');
});
