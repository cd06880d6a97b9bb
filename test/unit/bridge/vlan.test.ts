import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError } from '../../../shared/cni/errors';
import { collectVlanTrunk, portVlans, type VlanTrunkEntry } from '../../../plugins/bridge/vlan';

// The reference's collectVlanTrunk table (bridge_test.go).
const ok: Array<[string, VlanTrunkEntry[] | undefined, number[] | undefined]> = [
  ['no trunk', undefined, undefined],
  ['empty trunk', [], undefined],
  ['minID-maxID', [{ minID: 100, maxID: 105 }], [100, 101, 102, 103, 104, 105]],
  ['single id', [{ id: 100 }], [100]],
  ['id plus range, overlapping and unsorted', [{ id: 103 }, { minID: 100, maxID: 104 }, { id: 10 }], [10, 100, 101, 102, 103, 104]],
  ['range and id in one entry', [{ minID: 5, maxID: 6, id: 1 }], [1, 5, 6]],
  ['bounds 1 and 4094', [{ id: 1 }, { id: 4094 }], [1, 4094]],
  ['entry naming nothing', [{}], undefined],
  ['null fields are absent', [{ minID: null, maxID: null, id: 7 }], [7]],
];

for (const [name, input, want] of ok) {
  test(`collectVlanTrunk: ${name}`, () => assert.deepEqual(collectVlanTrunk(input), want));
}

const bad: Array<[string, VlanTrunkEntry[], string]> = [
  ['minID missing', [{ maxID: 105 }], 'minID and maxID should be configured simultaneously, minID is missing'],
  ['maxID missing', [{ minID: 100 }], 'minID and maxID should be configured simultaneously, maxID is missing'],
  ['negative minID', [{ minID: -100, maxID: 105 }], 'incorrect trunk minID parameter'],
  ['zero minID', [{ minID: 0, maxID: 105 }], 'incorrect trunk minID parameter'],
  ['negative maxID', [{ minID: 100, maxID: -105 }], 'incorrect trunk maxID parameter'],
  ['maxID > 4094', [{ minID: 100, maxID: 4095 }], 'incorrect trunk maxID parameter'],
  ['minID > 4094', [{ minID: 5000, maxID: 5005 }], 'incorrect trunk minID parameter'],
  ['minID > maxID', [{ minID: 105, maxID: 100 }], 'minID is greater than maxID in trunk parameter'],
  ['negative id', [{ id: -100 }], 'incorrect trunk id parameter'],
  ['id > 4094', [{ id: 4095 }], 'incorrect trunk id parameter'],
];

for (const [name, input, msg] of bad) {
  test(`collectVlanTrunk error: ${name}`, () => {
    assert.throws(() => collectVlanTrunk(input), (e: unknown) => e instanceof CniError && e.code === 7 && e.message === msg);
  });
}

test('portVlans: access, trunk with native VLAN 1, both, none', () => {
  assert.deepEqual(portVlans(100, undefined), { pvid: 100, tagged: [] });
  assert.deepEqual(portVlans(0, [101, 200]), { pvid: 1, tagged: [101, 200] });
  assert.deepEqual(portVlans(100, [100, 101]), { pvid: 100, tagged: [101] });
  assert.deepEqual(portVlans(0, undefined), { tagged: [] });
});
