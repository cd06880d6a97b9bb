import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RELIST_JITTER_MAX_MS, relistJitterMs } from '../../../flanneld/subnet/relist-jitter';

test('re-list jitter: up to 1 s per 1000 leases, drawn from the injected random', () => {
  assert.equal(relistJitterMs(1000, () => 0), 0);
  assert.equal(relistJitterMs(1000, () => 0.5), 500);
  assert.equal(relistJitterMs(1000, () => 0.999999), 999);
  assert.equal(relistJitterMs(100, () => 0.5), 50);
  assert.equal(relistJitterMs(10, () => 0.999999), 9);
});

test('re-list jitter: none without leases; bounded by the maximum whatever the count', () => {
  assert.equal(relistJitterMs(0, () => 0.9), 0);
  assert.equal(relistJitterMs(-3, () => 0.9), 0);
  assert.equal(relistJitterMs(1_000_000, () => 0.999999), RELIST_JITTER_MAX_MS - 1);
  assert.equal(relistJitterMs(1_000_000, () => 1), RELIST_JITTER_MAX_MS - 1, 'random() = 1 stays below the bound');
  assert.equal(relistJitterMs(3000, () => 0.5, { perLeaseMs: 2, maxMs: 4000 }), 2000);
  assert.equal(relistJitterMs(3000, () => 0.5, { maxMs: 0 }), 0);
});

test('re-list jitter spreads nodes: 1000 draws over 1000 leases cover the whole second evenly', () => {
  let seed = 42;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 1000; i++) buckets[Math.floor(relistJitterMs(1000, rnd) / 100)]++;
  for (const b of buckets) assert.ok(b > 60 && b < 140, `bucket of ${b} draws out of 1000`);
});
