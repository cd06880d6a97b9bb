import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCniArgs } from '../../../shared/cni/args';
import { readCniEnv, validateIfName } from '../../../shared/cni/env';
import { CniError } from '../../../shared/cni/errors';
import type { Command } from '../../../shared/cni/plugin';

const full = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const codeOf = (fn: () => unknown): [number, string, string | undefined] => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CniError);
    return [e.code, e.message, e.details];
  }
  assert.fail('expected an error');
};

describe('environment per command (skel table)', () => {
  const cases: [Command, string[]][] = [
    ['ADD', ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']],
    ['DEL', ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH']],
    ['CHECK', ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH']],
    ['GC', ['CNI_PATH']],
    ['STATUS', ['CNI_PATH']],
  ];
  for (const [cmd, required] of cases) {
    it(`${cmd}: reports all missing variables at once`, () => {
      assert.deepEqual(codeOf(() => readCniEnv(cmd, {})), [4, `required env variables [${required.join(',')}] missing`, undefined]);
    });
    it(`${cmd}: each required variable alone is reported`, () => {
      for (const v of required) {
        const env: Record<string, string> = { ...full };
        delete env[v];
        assert.deepEqual(codeOf(() => readCniEnv(cmd, env)), [4, `required env variables [${v}] missing`, undefined]);
      }
    });
  }
  it('DEL accepts an empty CNI_NETNS', () => {
    assert.equal(readCniEnv('DEL', { ...full, CNI_NETNS: '' }).netns, '');
  });
  it('CNI_PATH is split on ":" dropping empty entries', () => {
    assert.deepEqual(readCniEnv('GC', { CNI_PATH: '/a::/b:' }).path, ['/a', '/b']);
  });
  it('invalid containerID characters → 4 with the id in details', () => {
    for (const id of ['../x', 'a/b', 'a b', '-a', 'a\nb', 'a;b', '$(x)']) {
      assert.deepEqual(codeOf(() => readCniEnv('ADD', { ...full, CNI_CONTAINERID: id })), [4, 'invalid characters in containerID', id]);
    }
  });
  it('interface names', () => {
    assert.deepEqual(codeOf(() => validateIfName('a'.repeat(16))), [4, 'interface name is too long', 'interface name should be less than 16 characters']);
    assert.deepEqual(codeOf(() => validateIfName('.')), [4, 'interface name is . or ..', undefined]);
    assert.deepEqual(codeOf(() => validateIfName('..')), [4, 'interface name is . or ..', undefined]);
    for (const n of ['a/b', 'a:b', 'a b', 'a\tb']) {
      assert.deepEqual(codeOf(() => validateIfName(n)), [4, 'interface name contains / or : or whitespace characters', undefined]);
    }
    validateIfName('a'.repeat(15));
  });
});

describe('CNI_ARGS', () => {
  it('returns known keys', () => assert.deepEqual(parseCniArgs('IP=10.0.0.2;MAC=aa:bb:cc:dd:ee:ff', ['IP', 'MAC']), { IP: '10.0.0.2', MAC: 'aa:bb:cc:dd:ee:ff' }));
  it('unknown keys fail unless IgnoreUnknown', () => {
    assert.throws(() => parseCniArgs('K8S_POD_NAME=x', ['IP']), /ARGS: unknown args \["K8S_POD_NAME=x"\]/);
    for (const t of ['1', 'true', 'True']) assert.deepEqual(parseCniArgs(`IgnoreUnknown=${t};K8S_POD_NAME=x;IP=1.2.3.4`, ['IP']), { IP: '1.2.3.4' });
    assert.throws(() => parseCniArgs('IgnoreUnknown=0;K=v', ['IP']), /unknown args/);
  });
  it('invalid pairs and booleans', () => {
    assert.throws(() => parseCniArgs('IP', ['IP']), /ARGS: invalid pair "IP"/);
    assert.throws(() => parseCniArgs('a=b=c', ['a']), /invalid pair "a=b=c"/);
    assert.throws(() => parseCniArgs('IgnoreUnknown=maybe', []), /Boolean unmarshal error/);
  });
  it('keys are case-sensitive like the reference', () => {
    assert.throws(() => parseCniArgs('ip=1.2.3.4', ['IP']), /unknown args/);
  });
});
