// flannel meta plugin: turns flanneld's lease (subnet.env) into a delegate config (bridge +
// host-local by default), keeps it per container for DEL/CHECK, and forwards every command.
import { ATTACHMENT_KEYS, readValidAttachments } from '../../shared/cni/attachments';
import * as realDelegate from '../../shared/cni/delegate';
import { CniError, ErrorCode, internalError, toCniError, wrapError } from '../../shared/cni/errors';
import { log } from '../../shared/base/log';
import type { CmdArgs, Plugin } from '../../shared/cni/plugin';
import type { AnyResult } from '../../shared/cni/types';
import { DEFAULT_DATA_DIR, type FlannelConf, parseFlannelConf } from './config';
import { buildDelegateConf, buildMinimalDelegateConf, type JsonObject, renderDelegateConf } from './delegate';
import { listScratch, loadDelegateConf, removeDelegateConf, removeScratchTemps, saveDelegateConf, scratchPath, type ScratchListing } from './scratch';
import { loadSubnetEnv, type SubnetEnv, SubnetEnvError } from './subnet-env';
import { sysfs } from '../../shared/native/sysfs';
import { GC_GRACE_MS, withinGcGrace } from '../../shared/state/gc-grace';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

/** What the handlers call outside themselves; tests substitute the delegate calls. */
export interface FlannelDeps {
  delegateAdd(type: string, conf: Buffer, a: CmdArgs): Promise<AnyResult>;
  delegateDel(type: string, conf: Buffer, a: CmdArgs): Promise<void>;
  delegateCheck(type: string, conf: Buffer, a: CmdArgs): Promise<void>;
  delegateGC(type: string, conf: Buffer, a: CmdArgs): Promise<void>;
  delegateStatus(type: string, conf: Buffer, a: CmdArgs): Promise<void>;
  /** Diagnostics for the runtime's log (stderr). */
  warn(msg: string): void;
  /** Wall clock in ms (GC age checks). */
  now(): number;
  /** Finds the delegate's executable in CNI_PATH (throws when absent); ADD checks it before saving anything. */
  findPlugin?(type: string, dirs: readonly string[]): string;
}

export const defaultFlannelDeps: FlannelDeps = {
  delegateAdd: realDelegate.delegateAdd,
  delegateDel: realDelegate.delegateDel,
  delegateCheck: realDelegate.delegateCheck,
  delegateGC: realDelegate.delegateGC,
  delegateStatus: realDelegate.delegateStatus,
  warn: (msg) => log.warn(msg),
  now: () => Date.now(),
  findPlugin: realDelegate.findInPath,
};

/**
 * Codes with which a plugin refuses a request before acting on it (the spec's version,
 * environment, decoding and config errors): a delegate ADD failing so configured nothing.
 */
const REFUSAL_CODES: ReadonlySet<number> = new Set([
  ErrorCode.IncompatibleVersion,
  ErrorCode.UnsupportedField,
  ErrorCode.InvalidEnvironment,
  ErrorCode.DecodingFailure,
  ErrorCode.InvalidNetworkConfig,
]);

/**
 * GC leaves scratch files younger than this alone: a concurrent ADD writes its file before the
 * runtime knows the attachment, and removing it would make that container's DEL a no-op that
 * leaks its address. Also the age after which an interrupted write's temp file is garbage.
 * The same grace host-local gives its reservations (shared/state/gc-grace.ts).
 */
export const SCRATCH_GC_GRACE_MS = GC_GRACE_MS;

async function loadSubnetEnvForAdd(file: string): Promise<SubnetEnv> {
  try {
    return await loadSubnetEnv(file);
  } catch (e) {
    const err = toCniError(e);
    throw new CniError(err.code, `failed to load flannel 'subnet.env' file: ${err.message}. Check the flannel pod log for this node.`);
  }
}

/** undefined when subnet.env cannot be used (the error is a SubnetEnvError); rethrows others. */
async function tryLoadSubnetEnv(file: string): Promise<{ env?: SubnetEnv; error?: SubnetEnvError }> {
  try {
    return { env: await loadSubnetEnv(file) };
  } catch (e) {
    if (e instanceof SubnetEnvError) return { error: e };
    throw e;
  }
}

const typeOf = (d: JsonObject): string => d.type as string;
const bytesOf = (d: JsonObject): Buffer => Buffer.from(renderDelegateConf(d));

/**
 * DEL of a container whose saved config is empty or unparsable (power loss before the
 * reference's fsync, flannel#1662). The reference gives up and leaks the address; instead the
 * config is rebuilt from the current flannel config and subnet.env. That cleans up the same
 * state: host-local DEL releases by containerID+ifname under its dataDir/<network name>, bridge
 * DEL removes the interface by netns+ifname, and neither depends on the lease. Without a usable
 * subnet.env a minimal delegate (type, name, cniVersion, the user's delegate and ipam keys) is
 * still enough to release the address; whether ADD set up ipMasq rules then depended on a
 * FLANNEL_IPMASQ nobody knows any more, so a bridge delegate without the user's own ipMasq is
 * told true: tearing down rules that do not exist is a no-op, guessing false leaks them.
 */
async function rebuildForDel(conf: FlannelConf): Promise<JsonObject> {
  const { env } = await tryLoadSubnetEnv(conf.subnetFile).catch(() => ({ env: undefined }));
  if (env) {
    try {
      return buildDelegateConf(conf, env);
    } catch {
      /* a config that no longer builds: the minimal one still releases */
    }
  }
  const d = buildMinimalDelegateConf(conf);
  if (d.type === 'bridge' && !('ipMasq' in d)) d.ipMasq = true;
  return d;
}

/** ADD: renders the delegate config from subnet.env, saves it, then delegates. */
async function add(a: CmdArgs, deps: FlannelDeps): Promise<AnyResult> {
  const conf = parseFlannelConf(a.conf);
  const env = await loadSubnetEnvForAdd(conf.subnetFile);
  const d = buildDelegateConf(conf, env);
  const json = renderDelegateConf(d);
  log.debug(`flannel: delegate config for ${a.containerId}: ${json}`);
  // A delegate that is not there fails the ADD before anything is saved.
  if (deps.findPlugin) {
    try {
      deps.findPlugin(typeOf(d), a.path);
    } catch (e) {
      throw wrapError('failed to delegate add', e);
    }
  }
  // Saved before delegating: if ADD dies half-way, the runtime's DEL still finds what to undo.
  try {
    await saveDelegateConf(conf.dataDir, a.containerId, json);
  } catch (e) {
    throw wrapError(`failed to save delegate config: ${scratchPath(conf.dataDir, a.containerId)}`, e);
  }
  try {
    return await deps.delegateAdd(typeOf(d), Buffer.from(json), a);
  } catch (e) {
    const err = toCniError(e);
    // The delegate refused the request (its config or environment): it configured nothing,
    // so there is nothing for a DEL to undo and the saved config would only linger.
    if (REFUSAL_CODES.has(err.code)) await removeDelegateConf(conf.dataDir, a.containerId).catch(() => undefined);
    throw wrapError('failed to delegate add', err);
  }
}

/** DEL: delegates with the saved config (rebuilt when unusable), then removes it. */
async function del(a: CmdArgs, deps: FlannelDeps): Promise<void> {
  let conf: FlannelConf;
  try {
    conf = parseFlannelConf(a.conf);
  } catch (e) {
    // A config ADD refused left nothing behind: DEL of it must succeed, or the runtime
    // retries teardown forever. Only when a scratch file exists is the error relevant.
    const dataDir = typeof a.conf.dataDir === 'string' ? a.conf.dataDir : DEFAULT_DATA_DIR;
    const saved = await loadDelegateConf(dataDir, a.containerId).catch(() => undefined);
    if (saved?.kind === 'missing') return;
    throw e;
  }
  const saved = await loadDelegateConf(conf.dataDir, a.containerId);
  if (saved.kind === 'missing') {
    // Never added, or already deleted; or an ADD killed while saving left only a temp file.
    await removeScratchTemps(conf.dataDir, a.containerId);
    return;
  }
  let type: string;
  let bytes: Buffer;
  if (saved.kind === 'ok') {
    type = saved.type;
    bytes = saved.bytes;
  } else {
    const d = await rebuildForDel(conf);
    deps.warn(
      `flannel: saved delegate config ${saved.file} is unusable (${saved.reason}); ` +
        `deleting with a config rebuilt from the current flannel config: ${renderDelegateConf(d)}`,
    );
    type = typeOf(d);
    bytes = bytesOf(d);
  }
  try {
    await deps.delegateDel(type, bytes, a);
  } catch (e) {
    // The file stays: the runtime retries DEL, and the retry must reach the delegate again
    // (the reference removes it here, turning the retry into a no-op that leaks the address).
    throw wrapError('failed to delegate del', e);
  }
  await removeDelegateConf(conf.dataDir, a.containerId);
}

/** CHECK: delegates with the saved config at the current config's version and prevResult. */
async function check(a: CmdArgs, deps: FlannelDeps): Promise<void> {
  const conf = parseFlannelConf(a.conf);
  const saved = await loadDelegateConf(conf.dataDir, a.containerId);
  if (saved.kind === 'missing') {
    throw internalError(`no saved delegate config ${saved.file} for container ${a.containerId}: it was not added by this plugin, or was deleted`);
  }
  if (saved.kind === 'corrupt') throw internalError(`saved delegate config ${saved.file} is unusable: ${saved.reason}`);
  // CHECK needs the cached ADD result, which the runtime passes as prevResult in the
  // current config's version; the delegate must read it with that version.
  const checkConf: JsonObject = { ...saved.conf, cniVersion: conf.cniVersion };
  delete checkConf.prevResult;
  if (a.conf.prevResult !== undefined) checkConf.prevResult = a.conf.prevResult;
  try {
    await deps.delegateCheck(saved.type, bytesOf(checkConf), a);
  } catch (e) {
    throw wrapError('failed to delegate check', e);
  }
}

/** GC: forwarded to the delegate(s); scratch files of attachments the runtime no longer knows are removed. */
async function gc(a: CmdArgs, deps: FlannelDeps): Promise<void> {
  const conf = parseFlannelConf(a.conf);
  // Validated before anything is touched; absent means no attachment is valid.
  const validAttachments = readValidAttachments(a.conf);
  const errors: CniError[] = [];
  // An unreadable dataDir must not keep GC from reaching the delegate (which owns the addresses).
  const listing = await listScratch(conf.dataDir).catch((e: unknown) => {
    errors.push(toCniError(e));
    return { entries: [], temps: [] } as ScratchListing;
  });
  const attachments: JsonObject = {};
  for (const k of ATTACHMENT_KEYS) if (a.conf[k] !== undefined) attachments[k] = a.conf[k];

  // Whom to forward GC to: the delegate as it would be built now; without subnet.env, the
  // delegates the saved configs name (newest per type); failing both, the minimal one.
  const targets: JsonObject[] = [];
  const { env } = await tryLoadSubnetEnv(conf.subnetFile);
  if (env) {
    targets.push(buildDelegateConf(conf, env));
  } else {
    const byType = new Map<string, { mtimeMs: number; conf: JsonObject }>();
    for (const e of listing.entries) {
      if (e.saved.kind !== 'ok') continue;
      const prev = byType.get(e.saved.type);
      if (!prev || e.mtimeMs > prev.mtimeMs) byType.set(e.saved.type, { mtimeMs: e.mtimeMs, conf: e.saved.conf });
    }
    for (const { conf: c } of byType.values()) targets.push({ ...c });
    if (targets.length === 0) targets.push(buildMinimalDelegateConf(conf));
  }

  for (const t of targets) {
    const gcConf: JsonObject = { ...t, cniVersion: conf.cniVersion, ...attachments };
    delete gcConf.prevResult;
    try {
      await deps.delegateGC(typeOf(t), bytesOf(gcConf), a);
    } catch (e) {
      errors.push(wrapError(`failed to delegate gc to ${typeOf(t)}`, e));
    }
  }

  // Scratch files of attachments the runtime no longer knows (none listed: none known),
  // except those an ADD in flight may have just written.
  const now = deps.now();
  const valid = new Set(validAttachments.map((v) => v.containerID));
  for (const e of listing.entries) {
    if (valid.has(e.containerId) || withinGcGrace(e.mtimeMs, now, SCRATCH_GC_GRACE_MS)) continue;
    try {
      await removeDelegateConf(conf.dataDir, e.containerId);
    } catch (err) {
      errors.push(toCniError(err));
    }
  }
  for (const t of listing.temps) {
    if (withinGcGrace(t.mtimeMs, now, SCRATCH_GC_GRACE_MS)) continue;
    try {
      fs.rmSync(t.file, { force: true });
    } catch {
      /* best effort: the next GC tries again */
    }
  }

  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new CniError(errors[0]!.code, errors.map((e) => e.message).join('; '));
}

/** STATUS: not ready without a usable subnet.env; otherwise the delegate's. */
async function status(a: CmdArgs, deps: FlannelDeps): Promise<void> {
  const conf = parseFlannelConf(a.conf);
  const { env, error } = await tryLoadSubnetEnv(conf.subnetFile);
  if (!env) {
    const hint = error!.reason === 'not-found' ? ` (flanneld writes ${conf.subnetFile} once it holds a lease for this node)` : '';
    throw new CniError(ErrorCode.PluginNotAvailable, `flannel is not ready: ${error!.message}${hint}`);
  }
  const d = buildDelegateConf(conf, env);
  try {
    await deps.delegateStatus(typeOf(d), bytesOf(d), a);
  } catch (e) {
    throw wrapError('failed to delegate status', e);
  }
}

/** A Plugin whose optional handlers are all present. */
type FlannelPlugin = Required<Omit<Plugin, 'checkAdd'>>;

/** The plugin with its handlers bound to `deps` (tests pass their own delegate calls). */
export function makeFlannelPlugin(deps: FlannelDeps = defaultFlannelDeps): FlannelPlugin {
  return {
    name: 'flannel',
    about: 'flannel meta plugin: delegates to bridge + host-local using flanneld\'s subnet.env',
    add: (a) => add(a, deps),
    del: (a) => del(a, deps),
    check: (a) => check(a, deps),
    gc: (a) => gc(a, deps),
    status: (a) => status(a, deps),
  };
}

export const flannelPlugin: Plugin = makeFlannelPlugin();
