import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { NetConf } from '../../../shared/cni/types';
import { parseFlannelConf } from '../../../plugins/flannel/config';
import { buildDelegateConf } from '../../../plugins/flannel/delegate';
import { loadSubnetEnv } from '../../../plugins/flannel/subnet-env';
import { negotiateVersion } from '../../helpers/libcni-conf';

// Compiled to <outDir>/test/unit/flannel: the repository root is four levels up.
const EXAMPLES = path.resolve(__dirname, '../../../../conf-examples');

/**
 * The per-plugin request libcni (>= 1.2) derives from a conflist entry: name and the negotiated
 * cniVersion injected (the 1.1 example names 1.0.0 plus cniVersions, so new libcni picks 1.1.0).
 */
function flannelEntry(file: string): NetConf {
  const list = JSON.parse(readFileSync(path.join(EXAMPLES, file), 'utf8')) as {
    name: string;
    cniVersion: string;
    plugins: Record<string, unknown>[];
  };
  const entry = list.plugins.find((p) => p.type === 'flannel');
  assert.ok(entry, `${file} has a flannel entry`);
  assert.deepEqual(
    list.plugins.map((p) => p.type),
    ['flannel', 'portmap'],
  );
  return { ...entry, name: list.name, cniVersion: negotiateVersion(list as unknown as Record<string, unknown>) } as NetConf;
}

for (const [file, version] of [['10-flannel.conflist', '0.3.1'], ['10-flannel-1.1.conflist', '1.1.0']] as const) {
  test(`${file} renders the kube-flannel delegate`, async () => {
    const conf = parseFlannelConf(flannelEntry(file));
    const env = await loadSubnetEnv(path.join(EXAMPLES, 'subnet.env'));
    assert.deepEqual(buildDelegateConf(conf, env), {
      cniVersion: version,
      name: 'cbr0',
      type: 'bridge',
      mtu: 1450,
      ipMasq: false,
      isGateway: true,
      hairpinMode: true,
      isDefaultGateway: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] },
    });
  });
}

test('subnet-dualstack.env gives one range set per family', async () => {
  const conf = parseFlannelConf(flannelEntry('10-flannel-1.1.conflist'));
  const env = await loadSubnetEnv(path.join(EXAMPLES, 'subnet-dualstack.env'));
  assert.deepEqual(buildDelegateConf(conf, env).ipam, {
    type: 'host-local',
    ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:10:244:1::/64' }]],
    routes: [{ dst: '10.244.0.0/16' }, { dst: 'fd00:10:244::/56' }],
  });
});

test('net-conf.json matches subnet.env', () => {
  const net = JSON.parse(readFileSync(path.join(EXAMPLES, 'net-conf.json'), 'utf8')) as { Network: string; Backend: { Type: string } };
  assert.deepEqual(net, { Network: '10.244.0.0/16', Backend: { Type: 'vxlan' } });
  assert.match(readFileSync(path.join(EXAMPLES, 'subnet.env'), 'utf8'), /^FLANNEL_NETWORK=10\.244\.0\.0\/16$/m);
});
