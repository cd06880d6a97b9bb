// shared/cni/attachments.ts: GC's valid-attachments list, read and validated one way for all plugins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readValidAttachments } from '../../../shared/cni/attachments';
import { CniError } from '../../../shared/cni/errors';

const base = { cniVersion: '1.1.0', name: 'net', type: 'bridge' };
const refused = (msg: string) => (e: unknown): boolean => {
  assert.ok(e instanceof CniError, String(e));
  assert.equal(e.code, 7);
  assert.equal(e.message, msg);
  return true;
};

test('absent, null and empty lists all mean: no attachment is valid', () => {
  assert.deepEqual(readValidAttachments(base), []);
  assert.deepEqual(readValidAttachments({ ...base, 'cni.dev/valid-attachments': null }), []);
  assert.deepEqual(readValidAttachments({ ...base, 'cni.dev/valid-attachments': null, 'cni.dev/attachments': null }), []);
  assert.deepEqual(readValidAttachments({ ...base, 'cni.dev/valid-attachments': [] }), []);
});

test('both keys are read and merged, duplicates once, extra fields dropped', () => {
  const a = { containerID: 'a', ifname: 'eth0' };
  const b = { containerID: 'b', ifname: 'net1' };
  assert.deepEqual(readValidAttachments({ ...base, 'cni.dev/valid-attachments': [a, { ...b, extra: 1 }], 'cni.dev/attachments': [a, b] }), [a, b]);
  assert.deepEqual(readValidAttachments({ ...base, 'cni.dev/attachments': [b] }), [b]);
  // The same container on two interfaces is two attachments.
  assert.deepEqual(readValidAttachments({ ...base, 'cni.dev/valid-attachments': [a, { containerID: 'a', ifname: 'eth1' }] }).length, 2);
});

test('malformed lists are refused with code 7 naming the key, the item and its value', () => {
  const K = 'cni.dev/valid-attachments';
  const cases: Array<[unknown, string]> = [
    ['all', `invalid config: ${K}: must be an array of {"containerID", "ifname"} objects (got "all")`],
    [{ containerID: 'a', ifname: 'eth0' }, `invalid config: ${K}: must be an array of {"containerID", "ifname"} objects (got {"containerID":"a","ifname":"eth0"})`],
    [true, `invalid config: ${K}: must be an array of {"containerID", "ifname"} objects (got true)`],
    [[{ containerId: 'a', ifname: 'eth0' }], `invalid config: ${K}[0].containerID: must be a string (got {"containerId":"a","ifname":"eth0"})`],
    [[{ containerID: 'a' }], `invalid config: ${K}[0].ifname: must be a string (got {"containerID":"a"})`],
    [[{ containerID: 'a', ifname: 'eth0' }, null], `invalid config: ${K}[1]: must be an object with string "containerID" and "ifname" (got null)`],
    [[['a', 'eth0']], `invalid config: ${K}[0]: must be an object with string "containerID" and "ifname" (got ["a","eth0"])`],
    [[{ containerID: 7, ifname: 'eth0' }], `invalid config: ${K}[0].containerID: must be a string (got {"containerID":7,"ifname":"eth0"})`],
  ];
  for (const [list, msg] of cases) assert.throws(() => readValidAttachments({ ...base, [K]: list }), refused(msg));
  // The legacy key is checked as strictly, and named.
  assert.throws(
    () => readValidAttachments({ ...base, [K]: [], 'cni.dev/attachments': 'all' }),
    refused('invalid config: cni.dev/attachments: must be an array of {"containerID", "ifname"} objects (got "all")'),
  );
});
