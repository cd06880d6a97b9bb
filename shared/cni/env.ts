// Per-command environment rules of the spec and the reference's skel.
import { CniError, ErrorCode } from './errors';
import type { CniEnv, Command, Env } from './plugin';

const COMMANDS: readonly Command[] = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'];

type Var = 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH';

// skel's table: CNI_PATH is required wherever it may be needed for delegation.
const REQUIRED: Record<Command, readonly Var[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
};

/** The spec's identifier rule for container IDs and network names. */
export const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function isCommand(c: string): c is Command {
  return (COMMANDS as readonly string[]).includes(c);
}

function validateContainerId(id: string): void {
  if (id === '') throw new CniError(ErrorCode.UnknownContainer, 'missing containerID');
  if (!ID_RE.test(id)) throw new CniError(ErrorCode.InvalidEnvironment, 'invalid characters in containerID', id);
}

export function validateIfName(name: string): void {
  if (name === '') throw new CniError(ErrorCode.InvalidEnvironment, 'interface name is empty');
  // IFNAMSIZ is 16 including the NUL; the kernel rejects longer names.
  if (Buffer.byteLength(name) > 15) {
    throw new CniError(ErrorCode.InvalidEnvironment, 'interface name is too long', 'interface name should be less than 16 characters');
  }
  if (name === '.' || name === '..') throw new CniError(ErrorCode.InvalidEnvironment, 'interface name is . or ..');
  if (/[/:\s]/u.test(name)) {
    throw new CniError(ErrorCode.InvalidEnvironment, 'interface name contains / or : or whitespace characters');
  }
}

/** Validates the CNI_* variables for `command`, reporting every missing one at once. */
export function readCniEnv(command: Command, env: Env): CniEnv {
  const required = REQUIRED[command];
  const missing = required.filter((v) => !env[v]);
  if (missing.length > 0) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required env variables [${missing.join(',')}] missing`);
  }
  const out: CniEnv = {
    command,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    args: env.CNI_ARGS ?? '',
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
  };
  if (required.includes('CNI_CONTAINERID')) validateContainerId(out.containerId);
  if (required.includes('CNI_IFNAME')) validateIfName(out.ifname);
  // Where optional, a value given must still be safe: it names files and interfaces.
  if (!required.includes('CNI_CONTAINERID') && out.containerId !== '') validateContainerId(out.containerId);
  if (!required.includes('CNI_IFNAME') && out.ifname !== '') validateIfName(out.ifname);
  return out;
}
