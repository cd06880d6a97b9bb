// A throw-away "node" namespace that looks like a Kubernetes node already running a pod: an
// uplink with a default route, the cni0 bridge (10.244.1.1/24) with another pod's veth on it,
// a kube-proxy-like iptables nat rule, the other pod's ipMasq chain on network "corpusnet" (as
// the bridge plugin writes it), an unrelated nft table, and the host-local and flannel state of
// that other pod plus a valid subnet.env in a temp state dir. Plugins run inside it
// (`ip netns exec`); a container namespace is made for CNI_NETNS.
// The `bare` variant is a node before its first pod: no cni0 (and no other pod's veth).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execIn, ipIn, makeNetns } from './netns';
import { tempDir } from './plugins';

export const NODE_SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
/** The networks whose host-local state holds the other pod (10.244.1.2). */
export const NODE_NETWORKS = ['corpusnet', 'cbr0'] as const;

export interface PodNode {
  /** Namespace name of the node. */
  ns: string;
  /** /run/netns/<container namespace>, for CNI_NETNS. */
  container: string;
  containerName: string;
  /** Temp state dir: subnet.env, networks/ (host-local), flannel/ (flannel's dataDir). */
  state: string;
  /** Removes the temp dir (namespaces go with cleanupAllNetns()). */
  cleanup(): void;
}

/** The node's nft table that no plugin may touch. */
export const NODE_NFT_TABLE = 'table inet node-filter {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 accept comment "ssh"\n }\n}\n';

/**
 * The other pod's ipMasq rules as the bridge plugin makes them (reference pkg/ip ipmasq): chain
 * `CNI-` + the first 24 hex digits of sha512(network + containerID), comment
 * `name: "<net>" id: "<cid>"`. Written here by hand, independently of the plugin's code.
 */
export const OTHER_POD_MASQ_CHAIN = `CNI-${createHash('sha512').update('corpusnetother-pod').digest('hex').slice(0, 24)}`;
const OTHER_POD_MASQ_COMMENT = '"name: \\"corpusnet\\" id: \\"other-pod\\""';

export function makePodNode(label: string, opts: { bare?: boolean } = {}): PodNode {
  const node = makeNetns(`${label}-node`);
  const container = makeNetns(`${label}-ctr`);
  const stateDir = tempDir(`${label}-state`);
  try {
    setUp(node.name, label, stateDir.path, opts.bare ?? false);
  } catch (e) {
    stateDir.cleanup();
    throw e;
  }
  return { ns: node.name, container: container.path, containerName: container.name, state: stateDir.path, cleanup: () => stateDir.cleanup() };
}

function setUp(ns: string, label: string, st: string, bare: boolean): void {
  // No DAD or router solicitations: addresses must not change state while tests compare snapshots.
  for (const k of ['all', 'default']) {
    execIn(ns, 'sysctl', ['-qw', `net.ipv6.conf.${k}.accept_dad=0`, `net.ipv6.conf.${k}.router_solicitations=0`]);
  }
  ipIn(ns, ['link', 'set', 'lo', 'up']);
  ipIn(ns, ['link', 'add', 'ens3', 'type', 'veth', 'peer', 'name', 'ens3-peer']);
  ipIn(ns, ['link', 'set', 'ens3-peer', 'up']);
  ipIn(ns, ['addr', 'add', '192.168.50.10/24', 'dev', 'ens3']);
  ipIn(ns, ['link', 'set', 'ens3', 'up']);
  ipIn(ns, ['route', 'add', 'default', 'via', '192.168.50.1']);
  if (!bare) {
    ipIn(ns, ['link', 'add', 'cni0', 'type', 'bridge']);
    ipIn(ns, ['addr', 'add', '10.244.1.1/24', 'dev', 'cni0']);
    ipIn(ns, ['link', 'set', 'cni0', 'up']);
    // The other pod keeps a port on cni0 up, so the bridge's carrier does not flap as ports of
    // the tests come and go.
    const other = makeNetns(`${label}-other`);
    ipIn(ns, ['link', 'add', 'veth0other', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', other.name]);
    ipIn(ns, ['link', 'set', 'veth0other', 'master', 'cni0', 'up']);
    ipIn(other.name, ['addr', 'add', '10.244.1.2/24', 'dev', 'eth0']);
    ipIn(other.name, ['link', 'set', 'eth0', 'up']);
  }
  const c = OTHER_POD_MASQ_CHAIN;
  const m = OTHER_POD_MASQ_COMMENT;
  execIn(ns, 'iptables-restore', ['--noflush'], [
    '*nat',
    ':KUBE-POSTROUTING - [0:0]',
    `:${c} - [0:0]`,
    '-A POSTROUTING -j KUBE-POSTROUTING',
    '-A KUBE-POSTROUTING -s 10.244.0.0/16 ! -d 10.244.0.0/16 -j MASQUERADE',
    `-A ${c} -d 10.244.1.0/24 -j ACCEPT -m comment --comment ${m}`,
    `-A ${c} ! -d 224.0.0.0/4 -j MASQUERADE -m comment --comment ${m}`,
    `-A POSTROUTING -s 10.244.1.2 -j ${c} -m comment --comment ${m}`,
    'COMMIT',
    '',
  ].join('\n'));
  execIn(ns, 'nft', ['-f', '-'], NODE_NFT_TABLE);

  fs.writeFileSync(path.join(st, 'subnet.env'), NODE_SUBNET_ENV);
  for (const net of NODE_NETWORKS) {
    const d = path.join(st, 'networks', net);
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'lock'), '');
    fs.writeFileSync(path.join(d, '10.244.1.2'), 'other-pod\r\neth0', { mode: 0o600 });
    fs.writeFileSync(path.join(d, 'last_reserved_ip.0'), '10.244.1.2', { mode: 0o600 });
  }
  fs.mkdirSync(path.join(st, 'flannel'), { mode: 0o700 });
  fs.writeFileSync(
    path.join(st, 'flannel', 'other-pod'),
    JSON.stringify({
      cniVersion: '1.0.0', name: 'cbr0', type: 'bridge', mtu: 1450, ipMasq: false, isGateway: true,
      ipam: { type: 'host-local', dataDir: `${st}/networks`, ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] },
    }),
    { mode: 0o600 },
  );
}
