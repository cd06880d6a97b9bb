// flannel ADD on bad input leaves no saved delegate config behind: a delegate that is not in
// CNI_PATH fails before anything is saved, and a delegate refusing the request (codes 1, 2, 4,
// 6, 7: it configured nothing) has the saved config removed. Other failures keep it for DEL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CniError, ErrorCode } from '../../../shared/cni/errors';
import type { CmdArgs } from '../../../shared/cni/plugin';
import type { NetConf } from '../../../shared/cni/types';
import { defaultFlannelDeps, type FlannelDeps, makeFlannelPlugin } from '../../../plugins/flannel/plugin';
import { findInPath } from '../../../shared/cni/delegate';
import { rejectsCni } from '../../helpers/assert-cni';

const V4 = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'flannel-refusal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'subnet.env'), V4);
  const dataDir = path.join(dir, 'data');
  const conf: NetConf = { cniVersion: '1.0.0', name: 'cbr0', type: 'flannel', subnetFile: path.join(dir, 'subnet.env'), dataDir } as NetConf;
  const args = (p: string[]): CmdArgs => ({
    command: 'ADD', containerId: 'ctr1', netns: '/run/netns/x', ifname: 'eth0', args: '', path: p,
    stdin: Buffer.from(JSON.stringify(conf)), conf, env: {},
  });
  return { dir, dataDir, args };
}

function deps(fail: CniError | undefined, calls: string[]): FlannelDeps {
  return {
    ...defaultFlannelDeps,
    findPlugin: (type) => `/fake/${type}`,
    delegateAdd: async (type) => {
      calls.push(type);
      if (fail) throw fail;
      return { cniVersion: '1.0.0', ips: [] };
    },
    warn: () => undefined,
  };
}

const saved = (dataDir: string): string[] => (existsSync(dataDir) ? readdirSync(dataDir) : []);

test('a delegate missing from CNI_PATH fails the ADD before anything is saved', async (t) => {
  const s = setup(t);
  const calls: string[] = [];
  const p = makeFlannelPlugin({ ...deps(undefined, calls), findPlugin: findInPath });
  writeFileSync(path.join(s.dir, 'not-a-dir'), '');
  await rejectsCni(p.add(s.args([path.join(s.dir, 'not-a-dir')])), ErrorCode.Internal, `failed to delegate add: failed to find plugin "bridge" in path [${path.join(s.dir, 'not-a-dir')}]`);
  assert.deepEqual(calls, []);
  assert.deepEqual(saved(s.dataDir), []);
});

test('a delegate refusing its config: the saved config is removed, the error kept', async (t) => {
  for (const code of [1, 2, 4, 6, 7]) {
    const s = setup(t);
    const calls: string[] = [];
    const p = makeFlannelPlugin(deps(new CniError(code, 'invalid config: mtu: must be an integer between 0 and 65535 (got 70000)'), calls));
    await rejectsCni(p.add(s.args(['/fake'])), code, 'failed to delegate add: invalid config: mtu: must be an integer between 0 and 65535 (got 70000)');
    assert.deepEqual(calls, ['bridge']);
    assert.deepEqual(saved(s.dataDir), [], `code ${code}`);
  }
});

test('a delegate failing otherwise: the saved config stays for the runtime\'s DEL', async (t) => {
  for (const code of [3, 5, 11, 999]) {
    const s = setup(t);
    const p = makeFlannelPlugin(deps(new CniError(code, 'half-way'), []));
    await rejectsCni(p.add(s.args(['/fake'])), code, 'failed to delegate add: half-way');
    assert.deepEqual(saved(s.dataDir), ['ctr1'], `code ${code}`);
  }
});
