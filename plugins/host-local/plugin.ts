// host-local IPAM: hands out addresses from configured ranges, one per range set, and keeps the
// reservations as files under <dataDir>/<network>/ (see store.ts). Every command takes the
// network's lock once and does all its work under it.
import { sysfs, type SysStatFs } from '../../shared/native/sysfs';
import { errnoText } from '../../shared/base/message-text';
import { CniError, ErrorCode, internalError, toCniError } from '../../shared/cni/errors';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin';
import { readValidAttachments } from '../../shared/cni/attachments';
import type { DNS, IPConfig, Result } from '../../shared/cni/types';
import { LockError, LockTimeoutError } from '../../shared/state/lock';
import { mkdirAll } from '../../shared/state/mkdir-all';
import { CURRENT_VERSION } from '../../shared/cni/version';
import { type IP, formatIP, parseCIDR } from '../../shared/ip';
import { allocateAll } from './allocator';
import { type HostLocalConfig, loadConfig, loadStoreConfig } from './config';
import { isEmptyDNS, readResolvConf } from './dns';
import { rangeSetContains } from './range-set';
import { type DiskStore, withStore } from './store';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

/**
 * The network lock's errors as CNI errors, with the lock's own text: a timeout is 11 ("try again
 * later": the holder is alive, the kernel drops a dead holder's flock at once), any other lock
 * failure 999. Undefined for errors that are not the lock's.
 */
export function lockCniError(e: unknown): CniError | undefined {
  if (e instanceof LockTimeoutError) return new CniError(ErrorCode.TryAgainLater, e.message);
  if (e instanceof LockError) return internalError(e.message);
  return undefined;
}

/** Store I/O failures (mkdir, files) become 999 errors naming the path; lock and CNI errors keep their text. */
async function storeCall<T>(dir: string, fn: (s: DiskStore) => T | Promise<T>): Promise<T> {
  try {
    return await withStore(dir, fn);
  } catch (e) {
    if (e instanceof CniError) throw e;
    throw lockCniError(e) ?? internalError(`host-local: state directory ${dir}: ${errnoText(e)}`);
  }
}

function buildResult(cfg: HostLocalConfig, ips: IPConfig[], dns: DNS | undefined): Result {
  const result: Result = { cniVersion: CURRENT_VERSION, ips };
  if (cfg.routes.length > 0) result.routes = cfg.routes.map((r) => ({ ...r }));
  if (dns && !isEmptyDNS(dns)) result.dns = dns;
  return result;
}

async function add(a: CmdArgs): Promise<Result> {
  const cfg = loadConfig(a.conf, a.args);
  const dns = cfg.resolvConf ? readResolvConf(cfg.resolvConf) : undefined;
  const allocs = await storeCall(cfg.networkDir, (s) => {
    try {
      return allocateAll(s, cfg.rangeSets, a.containerId, a.ifname, cfg.requestedIPs);
    } catch (e) {
      throw toCniError(e);
    }
  });
  const ips: IPConfig[] = allocs.map((x) => ({
    address: `${formatIP(x.ip)}/${x.range.subnet.prefix}`,
    gateway: formatIP(x.range.gateway),
  }));
  return buildResult(cfg, ips, dns);
}

/** ADD's config checks alone (no state directory is created): for a delegating bridge's preflight. */
async function checkAdd(a: CmdArgs): Promise<void> {
  loadConfig(a.conf, a.args);
}

async function del(a: CmdArgs): Promise<void> {
  const sc = loadStoreConfig(a.conf);
  // Nothing was ever allocated on this network: nothing to release, and no directory to create.
  if (!fs.existsSync(sc.networkDir)) return;
  await storeCall(sc.networkDir, (s) => {
    s.releaseByID(a.containerId, a.ifname);
  });
}

/** Addresses of the prevResult (CHECK always has one in ≥0.4.0 chains), tolerant of its shape. */
function prevResultIPs(prev: unknown): IP[] {
  const ips = (prev as { ips?: unknown } | undefined)?.ips;
  if (!Array.isArray(ips)) return [];
  const out: IP[] = [];
  for (const x of ips) {
    const c = typeof x?.address === 'string' ? parseCIDR(x.address) : null;
    if (c) out.push(c.ip);
  }
  return out;
}

async function check(a: CmdArgs): Promise<void> {
  const cfg = loadConfig(a.conf, a.args);
  const notFound = (): CniError => internalError(`host-local: Failed to find address added by container ${a.containerId}`);
  if (!fs.existsSync(cfg.networkDir)) throw notFound();
  await storeCall(cfg.networkDir, (s) => {
    const mine = s.findByID(a.containerId, a.ifname);
    if (mine.length === 0) throw notFound();
    // Beyond the reference: every address of the previous result that lies in our ranges must
    // still be reserved for this attachment (catches a reservation lost or stolen meanwhile).
    const held = new Set(mine.map((r) => `${r.ip.family}/${r.ip.value}`));
    for (const ip of prevResultIPs(a.conf.prevResult)) {
      if (!cfg.rangeSets.some((set) => rangeSetContains(set, ip))) continue;
      if (!held.has(`${ip.family}/${ip.value}`)) {
        throw internalError(`host-local: address ${formatIP(ip)} of container ${a.containerId} is not reserved for it`);
      }
    }
  });
}

/**
 * GC (spec 1.1): releases every reservation whose attachment is not listed
 * (shared/cni/attachments.ts: both keys, validated before anything is touched; absent means none
 * is valid), except reservations younger than the GC grace, which an ADD in flight may hold.
 */
async function gc(a: CmdArgs): Promise<void> {
  const sc = loadStoreConfig(a.conf);
  const valid = readValidAttachments(a.conf);
  if (!fs.existsSync(sc.networkDir)) return;
  await storeCall(sc.networkDir, (s) => {
    s.gc(valid);
  });
}

/** STATUS: ready when the network's state directory exists or can be created, and is writable. */
async function status(a: CmdArgs): Promise<void> {
  const sc = loadStoreConfig(a.conf);
  const notReady = (why: string): CniError =>
    new CniError(ErrorCode.PluginNotAvailable, `host-local: state directory ${sc.networkDir} is not usable: ${why}`);
  try {
    mkdirAll(sc.networkDir, 0o755);
    // Opening (creating) the lock file proves new files can be made; access() catches EROFS/EACCES.
    await withStore(sc.networkDir, (s) => fs.accessSync(s.dir, fs.constants.W_OK));
  } catch (e) {
    // A busy lock is no reason to call the plugin unusable: the runtime should just try again.
    if (e instanceof LockTimeoutError) throw lockCniError(e);
    throw notReady(errnoText(e));
  }
  let st: SysStatFs | undefined;
  try {
    st = fs.statfsSync(sc.networkDir);
  } catch {
    st = undefined; // runtimes without statfs: skip the space check
  }
  if (st && st.bfree === 0) throw notReady('ENOSPC: no free blocks left on its filesystem');
  if (st && st.files > 0 && st.ffree === 0) throw notReady('ENOSPC: no free inodes left on its filesystem');
}

export const hostLocalPlugin: Plugin = {
  name: 'host-local',
  about: 'host-local IPAM: allocates addresses from local ranges, state in <dataDir>/<network>/',
  add,
  checkAdd,
  del,
  check,
  gc,
  status,
};
