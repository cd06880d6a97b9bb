// The bridge plugin (reference: containernetworking/plugins plugins/main/bridge), spec 1.1.
import { readValidAttachments } from '../../shared/cni/attachments';
import { delegateGC, delegateStatus } from '../../shared/cni/delegate';
import { log } from '../../shared/base/log';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin';
import { gcIPMasq } from '../../shared/netfilter/ipmasq';
import { getLinkByName } from '../../shared/netlink/links';
import { NetlinkSocket } from '../../shared/netlink/socket';
import { cmdAdd } from './add';
import { cmdCheck } from './check';
import { loadBridgeConf } from './config';
import { cmdDel } from './del';
import { gcSpoofCheck } from './macspoofchk';

/**
 * GC (spec 1.1; the reference has none): masquerade rules of attachments not listed, spoof-check
 * rules of attachments not listed whose veth is gone, then IPAM.
 */
async function cmdGC(a: CmdArgs): Promise<void> {
  const c = loadBridgeConf(a.conf, a.args);
  // Validated before any rule is touched: a malformed list read as "nothing valid" would remove
  // the masquerade rules of every live pod of the network.
  const valid = readValidAttachments(a.conf);
  gcIPMasq(c.name, valid);
  // Opened only when a spoof-check rule needs its veth looked up (most networks have none).
  let hs: NetlinkSocket | undefined;
  // A name the kernel cannot look up counts as existing: when unsure, the rule stays.
  const linkExists = (name: string): boolean => {
    try {
      hs ??= NetlinkSocket.open();
      return getLinkByName(hs, name) !== null;
    } catch {
      return true;
    }
  };
  try {
    gcSpoofCheck(valid, linkExists);
  } catch (e) {
    // Best effort, so a bridge GC never fails where it succeeded before (the reference has none):
    // what is left is retried by the next GC.
    log.warn(`bridge GC: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    hs?.close();
  }
  if (c.ipamType !== '') await delegateGC(c.ipamType, a.stdin, a);
}

async function cmdStatus(a: CmdArgs): Promise<void> {
  const c = loadBridgeConf(a.conf, a.args);
  if (c.ipamType !== '') await delegateStatus(c.ipamType, a.stdin, a);
}

export const bridgePlugin: Plugin = {
  name: 'bridge',
  about: 'CNI bridge plugin: veth pairs attached to a Linux bridge',
  add: cmdAdd,
  del: cmdDel,
  check: cmdCheck,
  gc: cmdGC,
  status: cmdStatus,
};
