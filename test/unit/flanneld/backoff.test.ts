import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextBackoff, throttled } from '../../../flanneld/subnet/backoff';
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
