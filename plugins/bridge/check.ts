// Bridge CHECK (§2.4): the prevResult's bridge, host veth and container veth still exist and
// are wired together, and its addresses and routes are still in the container. Unlike the
// reference, a config without IPAM (L2) is checkable: the IPAM CHECK is skipped.
import { delegateCheck } from '../../shared/cni/delegate';
import { internalError } from '../../shared/cni/errors';
import type { CmdArgs } from '../../shared/cni/plugin';
import type { Interface, IPConfig, Route, Result } from '../../shared/cni/types';
import { parsePrevResult } from '../../shared/cni/convert';
import { contains, formatCIDR, ipEquals, mustParseCIDR, mustParseIP, networkOf } from '../../shared/ip';
import { listAddresses } from '../../shared/netlink/addresses';
import { getLinkByName } from '../../shared/netlink/links';
import { listRoutes } from '../../shared/netlink/routes';
import { NetlinkSocket } from '../../shared/netlink/socket';
import type { Link } from '../../shared/netlink/types';
import { hostNetns, NetNS } from '../../shared/netns';
import { loadBridgeConf, type BridgeConf } from './config';

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

interface Found {
  link: Link;
}

function lookup(s: NetlinkSocket, intf: Interface, expectInSandbox: boolean): Link {
  if (!intf.name) throw internalError('Interface name missing ');
  const link = getLinkByName(s, intf.name);
  if (!link) throw internalError(`Interface name ${intf.name} not found`);
  if (expectInSandbox) {
    if (!intf.sandbox) throw internalError(`Interface ${intf.name} is expected to be in a sandbox`);
  } else if (intf.sandbox) {
    throw internalError(`Interface ${intf.name} should not be in sandbox`);
  }
  return link;
}

function checkBridge(hs: NetlinkSocket, intf: Interface, c: BridgeConf): Found {
  const link = lookup(hs, intf, false);
  if (link.kind !== 'bridge') throw internalError(`Interface ${intf.name} does not have link type of bridge`);
  if (intf.mac && intf.mac !== link.mac) throw internalError(`Bridge interface ${intf.name} Mac doesn't match: ${intf.mac}`);
  if (link.promisc !== c.promiscMode) {
    throw internalError(`Bridge interface ${intf.name} configured Promisc Mode ${c.promiscMode} doesn't match current state: ${link.promisc} `);
  }
  return { link };
}

function checkContainer(cs: NetlinkSocket, intf: Interface): Found {
  const link = lookup(cs, intf, true);
  if (link.kind !== 'veth') throw internalError(`Error: Container interface ${link.name} not of type veth`);
  if (intf.mac && intf.mac !== link.mac) {
    throw internalError(`Interface ${intf.name} Mac ${intf.mac} doesn't match container Mac: ${link.mac}`);
  }
  return { link };
}

/** True when intf is the host end of the container veth and a port of the bridge. */
function isOurHostVeth(hs: NetlinkSocket, intf: Interface, br: Link, cont: Link): boolean {
  const link = lookup(hs, intf, false);
  if (link.kind !== 'veth') return false; // not something this plugin created: skip it
  if (link.index !== cont.parentIndex || link.parentIndex !== cont.index) return false;
  if (link.masterIndex !== br.index) return false;
  if (intf.mac && intf.mac !== link.mac) throw internalError(`Interface ${intf.name} Mac doesn't match: ${intf.mac} not found`);
  return true;
}

function checkIPs(cs: NetlinkSocket, ifname: string, link: Link, ips: readonly IPConfig[]): void {
  const addrs = listAddresses(cs, { index: link.index });
  const routes = listRoutes(cs, { table: 0 });
  for (const ipc of ips) {
    const want = mustParseCIDR(ipc.address);
    if (!addrs.some((a) => a.cidr.prefix === want.prefix && ipEquals(a.cidr.ip, want.ip))) {
      throw internalError(`Failed to match addr ${formatCIDR(want)} on interface ${ifname}`);
    }
    const net = networkOf(want);
    if (!routes.some((r) => r.dst.prefix === net.prefix && ipEquals(networkOf(r.dst).ip, net.ip))) {
      throw internalError(`Failed to find Gateway ${ipc.gateway ?? '<nil>'} for interface ${ifname}`);
    }
  }
}

function checkRoutes(cs: NetlinkSocket, wanted: readonly Route[]): void {
  const routes = listRoutes(cs, { table: 0 });
  for (const w of wanted) {
    const dst = networkOf(mustParseCIDR(w.dst));
    const gw = w.gw ? mustParseIP(w.gw) : undefined;
    const found = routes.some(
      (r) =>
        r.dst.ip.family === dst.ip.family &&
        r.dst.prefix === dst.prefix &&
        contains(dst, r.dst.ip) &&
        (!gw || (r.gw !== undefined && ipEquals(r.gw, gw))),
    );
    if (!found) throw internalError(`Expected Route ${JSON.stringify(w)} not found in routing table`);
  }
}

export async function cmdCheck(a: CmdArgs): Promise<void> {
  const c = loadBridgeConf(a.conf, a.args);
  // A malformed prevResult is an input error: report it (code 6) before any lookup, as the
  // reference does by parsing it with the config, not as a missing address or interface.
  const parsedPrev = parsePrevResult(a.conf);
  hostNetns();
  let ns: NetNS;
  try {
    ns = NetNS.open(a.netns);
  } catch (e) {
    throw internalError(`failed to open netns ${JSON.stringify(a.netns)}: ${errText(e)}`);
  }
  const hs = NetlinkSocket.open();
  let cs: NetlinkSocket | undefined;
  try {
    if (c.ipamType !== '') await delegateCheck(c.ipamType, a.stdin, a);
    if (a.conf.prevResult === undefined || a.conf.prevResult === null) throw internalError('Required prevResult missing');
    const prev: Result = parsedPrev!;
    const interfaces = prev.interfaces ?? [];

    const brMap = interfaces.find((i) => i.name === c.bridge) ?? { name: '' };
    const contMap = interfaces.find((i) => i.name === a.ifname && i.sandbox === a.netns) ?? { name: '' };

    const br = checkBridge(hs, brMap, c);
    if (a.netns !== contMap.sandbox) {
      throw internalError(`Sandbox in prevResult ${contMap.sandbox ?? ''} doesn't match configured netns: ${a.netns}`);
    }
    cs = NetlinkSocket.openIn(ns);
    const cont = checkContainer(cs, contMap);

    let vethFound = false;
    for (const intf of interfaces) {
      if (intf.name === brMap.name || intf.name === contMap.name) continue;
      if (isOurHostVeth(hs, intf, br.link, cont.link)) {
        vethFound = true;
        break;
      }
    }
    if (!vethFound) throw internalError(`CNI veth created for bridge ${c.bridge} was not found`);

    checkIPs(cs, a.ifname, cont.link, prev.ips ?? []);
    checkRoutes(cs, prev.routes ?? []);
  } finally {
    cs?.close();
    hs.close();
    ns.close();
  }
}
