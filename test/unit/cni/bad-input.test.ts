// Dispatcher and prevResult behaviour on bad input found by the bad-input corpus
// (test/corpus, test/netns/bad-input-corpus.test.ts), checked here without root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatOutcome, runCommand } from '../../../shared/cni/dispatch';
import { parsePrevResult } from '../../../shared/cni/convert';
import { CniError } from '../../../shared/cni/errors';
import type { Plugin } from '../../../shared/cni/plugin';
import type { NetConf } from '../../../shared/cni/types';

const never = async (): Promise<never> => {
  throw new Error('the plugin must not be called');
};
const plugin: Plugin = { name: 'x', about: 'x', add: never, del: never, check: never };
const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/none', CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent' };

test('an error about an unsupported cniVersion is itself in a version the plugin speaks', async () => {
  for (const v of ['9.9.9', '1.0', '0.5.0', 'latest']) {
    const o = await runCommand(plugin, env, () => Buffer.from(JSON.stringify({ cniVersion: v, name: 'n', type: 'x' })));
    assert.equal(o.kind, 'error');
    const printed = JSON.parse(formatOutcome(o).stdout);
    assert.equal(printed.cniVersion, '1.1.0', v);
    assert.equal(printed.code, 1);
    assert.equal(printed.details.startsWith(`config is ${JSON.stringify(v)}`), true);
  }
  // A supported version is echoed back, as before.
  const o = await runCommand(plugin, { ...env, CNI_COMMAND: 'CHECK' }, () => Buffer.from(JSON.stringify({ cniVersion: '0.3.1', name: 'n', type: 'x' })));
  assert.equal(JSON.parse(formatOutcome(o).stdout).cniVersion, '0.3.1');
});

const conf = (prevResult: unknown): NetConf => ({ cniVersion: '1.0.0', name: 'n', type: 'x', prevResult }) as NetConf;

function decodeError(prev: unknown, msg: string): void {
  assert.throws(() => parsePrevResult(conf(prev)), (e: unknown) => e instanceof CniError && e.code === 6 && e.message === msg);
}

test('prevResult addresses must be addresses: the plugin using them must not silently skip them', () => {
  decodeError({ ips: [{ address: '10.1.2.3; iptables -F' }] }, 'could not parse prevResult: ips[0].address: "10.1.2.3; iptables -F" is not an address/prefix (CIDR)');
  decodeError({ ips: [{ address: '10.1.2.3' }] }, 'could not parse prevResult: ips[0].address: "10.1.2.3" is not an address/prefix (CIDR)');
  decodeError({ ips: [{ address: '10.1.2.3/24', gateway: 'gw' }] }, 'could not parse prevResult: ips[0].gateway: "gw" is not an IP address');
  decodeError({ ips: [{ address: '10.1.2.3/24' }], routes: [{ dst: 'default' }] }, 'could not parse prevResult: routes[0].dst: "default" is not an address/prefix (CIDR)');
  decodeError({ routes: [{ dst: '0.0.0.0/0', gw: '1.2.3' }] }, 'could not parse prevResult: routes[0].gw: "1.2.3" is not an IP address');
  decodeError({ ips: { address: '10.1.2.3/24' } }, 'could not parse prevResult: result "ips" is not a list');
  const ok = parsePrevResult(conf({ ips: [{ address: '10.1.2.3/24', gateway: '10.1.2.1' }, { address: 'fd00::3/64' }], routes: [{ dst: '0.0.0.0/0', gw: '10.1.2.1' }, { dst: '::/0' }] }));
  assert.equal(ok?.ips?.length, 2);
});
