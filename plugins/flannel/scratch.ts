// The rendered delegate config of each container, kept in `<dataDir>/<containerID>` from ADD
// until DEL: DEL must release exactly what ADD configured even when subnet.env or the flannel
// config changed in between. Same layout as the reference (files keyed by containerID only), so
// files written by the reference plugin are found after an upgrade.
// Sync fs: Bun's first async fs call starts a thread pool (about 0.9 ms of a plugin call).
import { sysfs } from '../../shared/native/sysfs';
import * as path from 'node:path';
import { ID_RE } from '../../shared/cni/env';
import { CniError, ErrorCode } from '../../shared/cni/errors';
import { fsyncDir, writeFileAtomic } from '../../shared/state/atomic-file';
import { mkdirAll } from '../../shared/state/mkdir-all';
import type { JsonObject } from './delegate';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

/**
 * Temp files of shared/state/atomic-file (`<name>.tmp-<pid>-<hex>`) left by an interrupted write.
 * Checked before the container-ID rule, which such names would also pass.
 */
export const TEMP_RE = /^(.+)\.tmp-\d+-[0-9a-f]+$/;

/** Bigger files are not ours (a rendered delegate config is a few hundred bytes). */
const MAX_SCRATCH_BYTES = 1024 * 1024;

type SavedConf =
  | { kind: 'missing'; file: string }
  | { kind: 'ok'; file: string; bytes: Buffer; conf: JsonObject; type: string }
  | { kind: 'corrupt'; file: string; bytes: Buffer; reason: string };

/** The container ID names a file: it must be one path component (the dispatcher checks too). */
export function scratchPath(dataDir: string, containerId: string): string {
  if (containerId === '' || containerId === '.' || containerId === '..' || /[/\0]/.test(containerId)) {
    throw new CniError(ErrorCode.InvalidEnvironment, `invalid containerID ${JSON.stringify(containerId)}: must be a single path component`);
  }
  return path.join(dataDir, containerId);
}

/** Decodes saved bytes; a zero-byte or torn file (power loss before fsync) is `corrupt`. */
function decodeSaved(file: string, bytes: Buffer): SavedConf {
  if (bytes.length === 0) return { kind: 'corrupt', file, bytes, reason: 'the file is empty' };
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    return { kind: 'corrupt', file, bytes, reason: `invalid JSON: ${(e as Error).message}` };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { kind: 'corrupt', file, bytes, reason: 'not a JSON object' };
  const conf = v as JsonObject;
  if (typeof conf.type !== 'string' || conf.type === '') {
    return { kind: 'corrupt', file, bytes, reason: `no delegate type (got ${JSON.stringify(conf.type)})` };
  }
  return { kind: 'ok', file, bytes, conf, type: conf.type };
}

/** Saves atomically (dir 0700, file 0600): written before the delegate ADD runs. */
export async function saveDelegateConf(dataDir: string, containerId: string, json: string): Promise<string> {
  const file = scratchPath(dataDir, containerId);
  // 0700: the configs name networks and may carry runtimeConfig (port mappings).
  mkdirAll(dataDir, 0o700);
  writeFileAtomic(file, json, { mode: 0o600 });
  return file;
}

export async function loadDelegateConf(dataDir: string, containerId: string): Promise<SavedConf> {
  const file = scratchPath(dataDir, containerId);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing', file };
    throw new CniError(ErrorCode.IOFailure, `failed to read saved delegate config ${file}: ${(e as Error).message}`);
  }
  return decodeSaved(file, bytes);
}

/**
 * Removes temp files of this container's interrupted saves (an ADD killed between writing the
 * temp file and renaming it leaves one, and never delegated). Best effort: they are garbage, and
 * GC removes any that remain.
 */
export async function removeScratchTemps(dataDir: string, containerId: string): Promise<void> {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dataDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (TEMP_RE.exec(name)?.[1] !== containerId) continue;
    try {
      fs.rmSync(path.join(dataDir, name), { force: true });
    } catch {
      /* best effort: GC removes what remains */
    }
  }
}

/** Removes the saved config (absent is fine) and its interrupted saves, and persists the removal. */
export async function removeDelegateConf(dataDir: string, containerId: string): Promise<void> {
  const file = scratchPath(dataDir, containerId);
  await removeScratchTemps(dataDir, containerId);
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new CniError(ErrorCode.IOFailure, `failed to remove saved delegate config ${file}: ${(e as Error).message}`);
  }
  try {
    fsyncDir(dataDir);
  } catch {
    /* the removal happened; durability of it is best effort */
  }
}

interface ScratchEntry {
  containerId: string;
  file: string;
  mtimeMs: number;
  saved: SavedConf & { kind: 'ok' | 'corrupt' };
}

export interface ScratchListing {
  /** Plausible scratch files: regular, named like a container ID, empty or a JSON object. */
  entries: ScratchEntry[];
  /** Leftover temp files of interrupted atomic writes. */
  temps: { file: string; mtimeMs: number }[];
}

function tryOrNull<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

/** Lists dataDir (missing → empty). Anything that does not look like ours is not listed. */
export async function listScratch(dataDir: string): Promise<ScratchListing> {
  const out: ScratchListing = { entries: [], temps: [] };
  let names: string[];
  try {
    names = fs.readdirSync(dataDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw new CniError(ErrorCode.IOFailure, `failed to list ${dataDir}: ${(e as Error).message}`);
  }
  for (const name of names.sort()) {
    const file = path.join(dataDir, name);
    const st = tryOrNull(() => fs.lstatSync(file));
    if (!st || !st.isFile() || st.size > MAX_SCRATCH_BYTES) continue;
    if (TEMP_RE.test(name) && ID_RE.test(TEMP_RE.exec(name)![1]!)) {
      out.temps.push({ file, mtimeMs: st.mtimeMs });
      continue;
    }
    if (!ID_RE.test(name)) continue;
    const bytes = tryOrNull(() => fs.readFileSync(file));
    if (!bytes) continue;
    // A torn write of the reference plugin (no fsync) is empty or a JSON prefix.
    if (bytes.length > 0 && !bytes.toString('utf8').trimStart().startsWith('{')) continue;
    const saved = decodeSaved(file, bytes);
    if (saved.kind === 'missing') continue;
    out.entries.push({ containerId: name, file, mtimeMs: st.mtimeMs, saved });
  }
  return out;
}
