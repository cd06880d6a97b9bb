// The churn soak's bookkeeping and verdict (bench/soak-record.ts) and its arguments.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { endStartRatio, snapshotDiff, SoakRecord, verdict } from '../../../bench/soak-record';
import { parseSoakArgs } from '../../../bench/soak';

describe('soak record', () => {
  it('flags an address handed to a second pod while the first still holds it, not after its DEL', () => {
    const r = new SoakRecord(0, 10);
    assert.equal(r.addressUp(1000, '10.244.7.2', 'a'), true);
    assert.equal(r.addressUp(2000, '10.244.7.3', 'b'), true);
    assert.equal(r.addressUp(3000, '10.244.7.2', 'c'), false);
    assert.deepEqual(r.duplicates, [{ atS: 3, address: '10.244.7.2', pods: ['a', 'c'] }]);
    r.addressDown('10.244.7.2', 'c'); // the duplicate's DEL does not free the first holder's address
    assert.equal(r.addressUp(4000, '10.244.7.2', 'd'), false);
    r.addressDown('10.244.7.2', 'a');
    assert.equal(r.addressUp(5000, '10.244.7.2', 'e'), true);
    assert.equal(r.duplicates.length, 2);
    assert.equal(r.liveCount(), 2);
  });

  it('buckets latencies by the minute the operation started in, the overrun folding into the last', () => {
    const r = new SoakRecord(1000, 2);
    r.latency('ADD', 1000 + 59_999, 10);
    r.latency('ADD', 1000 + 60_000, 20);
    r.latency('ADD', 1000 + 125_000, 40);
    r.latency('DEL', 1000 + 5_000, 7);
    const m = r.perMinute();
    assert.equal(m.length, 2);
    assert.equal(m[0]!.add!.n, 1);
    assert.equal(m[0]!.add!.median, 10);
    assert.equal(m[1]!.add!.n, 2);
    assert.equal(m[1]!.add!.max, 40);
    assert.equal(m[0]!.del!.median, 7);
    assert.equal(m[1]!.del, null);
    assert.equal(r.overall('ADD')!.n, 3);
  });

  it('keeps the first ten error messages and counts them all', () => {
    const r = new SoakRecord(0, 1);
    for (let i = 0; i < 12; i++) r.error(i * 1000, `p${i}`, 'ADD', `boom ${i}`);
    assert.equal(r.errorCount, 12);
    assert.equal(r.firstErrors.length, 10);
    assert.equal(r.firstErrors[9]!.message, 'boom 9');
  });

  it('compares the last minute with samples to the first; n/a with one', () => {
    const r = new SoakRecord(0, 3);
    r.latency('ADD', 0, 100);
    assert.equal(endStartRatio(r.perMinute()), null);
    r.latency('ADD', 130_000, 130);
    assert.equal(endStartRatio(r.perMinute()), 1.3);
  });
});

describe('soak verdict', () => {
  const ok = { errors: 0, duplicates: 0, residue: [], ratio: 1.05, cycles: 10, interrupted: false };
  it('passes a clean run and fails on each criterion', () => {
    assert.deepEqual(verdict(ok), { pass: true, reasons: [] });
    assert.equal(verdict({ ...ok, ratio: null }).pass, true);
    for (const bad of [{ errors: 1 }, { duplicates: 1 }, { residue: ['x'] }, { ratio: 1.21 }, { cycles: 0 }, { interrupted: true }]) {
      const v = verdict({ ...ok, ...bad });
      assert.equal(v.pass, false, JSON.stringify(bad));
      assert.equal(v.reasons.length, 1);
    }
  });
});

describe('snapshot diff', () => {
  it('reports lines added and removed per section, repeated lines counted, blank lines ignored', () => {
    const before = '## links\nlo\ncni0\n## files /x\n/x/lock \n/x/a 1';
    const after = '## links\nlo\ncni0\nveth1\n## files /x\n/x/lock \n/x/lock \n';
    assert.deepEqual(snapshotDiff(before, after).sort(), ['files /x: + /x/lock ', 'files /x: - /x/a 1', 'links: + veth1'].sort());
    assert.deepEqual(snapshotDiff(before, before), []);
  });
});

describe('soak arguments', () => {
  it('defaults to 10 minutes, standalone, 8 workers; env and flags override', () => {
    assert.deepEqual(parseSoakArgs([], {}), { minutes: 10, build: 'standalone', workers: 8, pingEvery: 10 });
    assert.equal(parseSoakArgs([], { SOAK_MINUTES: '3' }).minutes, 3);
    assert.deepEqual(parseSoakArgs(['--minutes', '2', '--build=node', '--workers', '4', '--ping-every', '0'], { SOAK_MINUTES: '3' }), { minutes: 2, build: 'node', workers: 4, pingEvery: 0 });
  });
  it('rejects bad values', () => {
    assert.throws(() => parseSoakArgs(['--minutes', '0'], {}), /--minutes must be a positive number/);
    assert.throws(() => parseSoakArgs(['--build', 'go'], {}), /--build must be standalone or node/);
    assert.throws(() => parseSoakArgs(['--minutes'], {}), /--minutes needs a value/);
    assert.throws(() => parseSoakArgs(['--bogus'], {}), /unknown argument/);
  });
});
