// The portmap meta plugin: forwards host ports to the container addresses of prevResult.
// Netfilter work is one batch per address family per call (see iptables-backend.ts,
// nft-backend.ts); calls without port mappings touch nothing (plugins#510: the reference
// once took the xtables lock on every pod).
import { CniError, ErrorCode, internalError, toCniError, wrapError } from '../../shared/cni/errors';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin';
import { readValidAttachments } from '../../shared/cni/attachments';
import type { AnyResult } from '../../shared/cni/types';
import type { Family } from '../../shared/ip';
import type { NetfilterKind } from '../../shared/netfilter/backend';
import type { PortmapBackend } from './backend';
import { containerNets, parsePortMapConf, type PortMapConf } from './config';
import { flushUdpConntrack, flushUdpConntrackTo, type UdpForward } from './conntrack';
import { enableRouteLocalnet } from './localnet';

/**
 * The backends, each loaded on first use: a call loads the rule code of the backend its config
 * names and not the other's (GC, which cleans both, loads both). In the order GC runs them.
 */
const BACKENDS: Record<NetfilterKind, () => PortmapBackend> = {
  iptables: () => (require('./iptables-backend') as typeof import('./iptables-backend')).iptablesPortmap,
  nftables: () => (require('./nft-backend') as typeof import('./nft-backend')).nftPortmap,
};

function parse(a: CmdArgs, wrap: boolean): PortMapConf {
  try {
    return parsePortMapConf(a.conf, a.ifname);
  } catch (e) {
    throw wrap ? wrapError('failed to parse config', e) : toCniError(e);
  }
}

const run = (fn: () => void): void => {
  try {
    fn();
  } catch (e) {
    throw toCniError(e);
  }
};

/** prevResult exactly as received (the dispatcher converts it to the config's version). */
function passThrough(a: CmdArgs): AnyResult {
  const prev = { ...(a.conf.prevResult as Record<string, unknown>) };
  if (!prev.cniVersion) prev.cniVersion = a.conf.cniVersion;
  return prev as unknown as AnyResult;
}

async function add(a: CmdArgs): Promise<AnyResult> {
  const c = parse(a, true);
  if (!c.prevResult) throw new CniError(ErrorCode.InvalidNetworkConfig, 'must be called as chained plugin');
  if (c.mappings.length === 0) return passThrough(a);
  const backend = BACKENDS[c.backend]();
  for (const net of containerNets(c)) {
    run(() => backend.forward(c, a.containerId, net));
    flushUdpConntrack(c.mappings, net.ip.family);
    if (net.ip.family === 4 && c.snat) run(() => enableRouteLocalnet(net.ip));
  }
  return passThrough(a);
}

async function del(a: CmdArgs): Promise<void> {
  const c = parse(a, true);
  // The runtime re-sends runtimeConfig on DEL (libcni caches it); without mappings nothing was set up.
  if (c.mappings.length === 0) return;
  const nets = containerNets(c);
  // With prevResult only the families the container has; without, both (idempotent).
  const families: Family[] = nets.length === 0 ? [4, 6] : nets.map((n) => n.ip.family);
  run(() => BACKENDS[c.backend]().unforward(c, a.containerId, families, nets));
  // A flow of the deleted pod must not pin the host port to its (soon reused) address.
  for (const f of families) flushUdpConntrack(c.mappings, f);
}

async function check(a: CmdArgs): Promise<void> {
  const c = parse(a, false);
  if (!c.prevResult) throw internalError('Required prevResult missing');
  if (c.mappings.length === 0) return;
  const backend = BACKENDS[c.backend]();
  for (const net of containerNets(c)) {
    run(() => backend.check(c, a.containerId, net));
  }
}

/** Removes forwarding of this network's containers that are not valid attachments, on both backends. */
async function gc(a: CmdArgs): Promise<void> {
  const c = parse(a, false);
  // Both keys, validated before any rule is touched (shared/cni/attachments.ts).
  const valid = readValidAttachments(a.conf);
  const cids = [...new Set(valid.map((v) => v.containerID))];
  const errors: string[] = [];
  const removed: UdpForward[] = [];
  for (const load of Object.values(BACKENDS)) {
    const backend = load();
    if (!backend.usable()) continue;
    try { removed.push(...backend.gc(c.name, cids)); } catch (e) { errors.push((e as Error).message); }
  }
  // As on DEL: a tracked UDP flow would keep reaching the removed container's (reusable) address.
  flushUdpConntrackTo(removed);
  if (errors.length) throw internalError(errors.join('\n'));
}

async function status(a: CmdArgs): Promise<void> {
  const c = parse(a, false);
  if (!BACKENDS[c.backend]().usable()) {
    throw new CniError(ErrorCode.PluginNotAvailable, `portmap: ${c.backend} backend is not usable: its tools are not installed (PATH=${process.env.PATH ?? ''})`);
  }
}

export const portmapPlugin: Plugin = {
  name: 'portmap',
  about: 'CNI portmap plugin (TypeScript): host port forwarding with iptables or nftables',
  add,
  del,
  check,
  gc,
  status,
};
