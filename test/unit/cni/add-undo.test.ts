// An ADD whose result cannot be expressed in the config's version fails; the dispatcher then
// undoes the ADD (the plugin's DEL), because the runtime never learns what was made.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatOutcome, runCommand } from '../../../shared/cni/dispatch';
import type { CmdArgs, Plugin } from '../../../shared/cni/plugin';

const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent' };
const stdin = (cniVersion: string) => () => Buffer.from(JSON.stringify({ cniVersion, name: 'n', type: 'x' }));

function l2Plugin(delFails = false): { plugin: Plugin; dels: CmdArgs[] } {
  const dels: CmdArgs[] = [];
  const plugin: Plugin = {
    name: 'x',
    about: 'x',
    // An L2 attachment: an interface, no IPs (what bridge without IPAM returns).
    add: async () => ({ cniVersion: '1.1.0', interfaces: [{ name: 'eth0', mac: '0a:58:00:00:00:01', sandbox: '/run/netns/none' }] }),
    del: async (a) => {
      dels.push(a);
      if (delFails) throw new Error('veth busy');
    },
    check: async () => undefined,
  };
  return { plugin, dels };
}

test('a result the config version cannot express: error, and the ADD is undone with DEL', async () => {
  const { plugin, dels } = l2Plugin();
  const o = await runCommand(plugin, env, stdin('0.2.0'));
  assert.equal(o.kind, 'error');
  const printed = JSON.parse(formatOutcome(o).stdout);
  assert.equal(printed.msg, 'cannot convert: no valid IP addresses');
  assert.equal(dels.length, 1);
  assert.equal(dels[0]!.containerId, 'c1');
  assert.equal(dels[0]!.ifname, 'eth0');
});

test('the conversion error is reported even when the undo fails', async () => {
  const { plugin, dels } = l2Plugin(true);
  const o = await runCommand(plugin, env, stdin('0.2.0'));
  assert.equal(o.kind, 'error');
  assert.equal(JSON.parse(formatOutcome(o).stdout).msg, 'cannot convert: no valid IP addresses');
  assert.equal(dels.length, 1);
});

test('a result that converts is returned and nothing is undone', async () => {
  const { plugin, dels } = l2Plugin();
  const o = await runCommand(plugin, env, stdin('1.0.0'));
  assert.equal(o.kind, 'result');
  assert.equal(dels.length, 0);
});
