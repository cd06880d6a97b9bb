// The portmap meta plugin: forwards host ports to the container addresses of prevResult.
// Netfilter work is one batch per address family per call (see iptables-backend.ts,
// nft-backend.ts); calls without port mappings touch nothing (plugins#510: the reference
// once took the xtables lock on every pod).
import { CniError, ErrorCode, internalError, toCniError, wrapError } from '../../shared/cni/errors';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin';
import { readValidAttachments } from '../../shared/cni/attachments';
import type { AnyResult } from '../../shared/cni/types';
import type { Family } from '../../shared/ip';
import { iptablesUsable, nftablesUsable } from '../../shared/netfilter/run';
import { containerNets, parsePortMapConf, type PortMapConf } from './config';
import { flushUdpConntrack, flushUdpConntrackTo, type UdpForward } from './conntrack';
import { iptCheck, iptForward, iptGC, iptUnforward } from './iptables-backend';
import { enableRouteLocalnet } from './localnet';
import { nftCheck, nftForward, nftGC, nftUnforward } from './nft-backend';

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
  for (const net of containerNets(c)) {
    run(() => (c.backend === 'iptables' ? iptForward(c, a.containerId, net) : nftForward(c, a.containerId, net)));
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
  const guessed = nets.length === 0;
  const families: Family[] = guessed ? [4, 6] : nets.map((n) => n.ip.family);
  run(() =>
    c.backend === 'iptables'
      ? iptUnforward(c, a.containerId, families, guessed)
      : nftUnforward(c, a.containerId, families, nets),
  );
  // A flow of the deleted pod must not pin the host port to its (soon reused) address.
  for (const f of families) flushUdpConntrack(c.mappings, f);
}

async function check(a: CmdArgs): Promise<void> {
  const c = parse(a, false);
  if (!c.prevResult) throw internalError('Required prevResult missing');
  if (c.mappings.length === 0) return;
  for (const net of containerNets(c)) {
    run(() => (c.backend === 'iptables' ? iptCheck(c, a.containerId, net) : nftCheck(c, a.containerId, net)));
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
  if (iptablesUsable(4) || iptablesUsable(6)) {
    try { removed.push(...iptGC(c.name, cids)); } catch (e) { errors.push((e as Error).message); }
  }
  if (nftablesUsable()) {
    try { removed.push(...nftGC(c.name, cids)); } catch (e) { errors.push((e as Error).message); }
  }
  // As on DEL: a tracked UDP flow would keep reaching the removed container's (reusable) address.
  flushUdpConntrackTo(removed);
  if (errors.length) throw internalError(errors.join('\n'));
}

async function status(a: CmdArgs): Promise<void> {
  const c = parse(a, false);
  const ok = c.backend === 'iptables' ? iptablesUsable(4) || iptablesUsable(6) : nftablesUsable();
  if (!ok) {
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
