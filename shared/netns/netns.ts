// Network namespace handles and the synchronous setns window. setns(2) switches only the
// calling thread, and every syscall Node/Bun make synchronously on the JS thread (netlink
// socket creation, /proc/sys access) happens in that thread's namespace. A netlink socket
// opened inside the window stays bound to that namespace after the window closes.
import { sysfs } from '../native/sysfs';
import { CLONE_NEWNET, native } from '../native/addon';
import { NetnsNotFoundError, NotANetnsError } from './errors';
import { isNetnsFsType, unknownMagicMessage } from './fsmagic';

// node:fs under Node, the addon's file syscalls in the standalone build (shared/native/sysfs.ts).
const fs = sysfs();

export class NetNS {
  private _fd: number;

  private constructor(readonly path: string, fd: number) {
    this._fd = fd;
  }

  /** The open file descriptor; throws after close(). */
  get fd(): number {
    if (this._fd < 0) throw new Error(`netns ${this.path} is closed`);
    return this._fd;
  }

  get closed(): boolean {
    return this._fd < 0;
  }

  /**
   * Opens a namespace file (/run/netns/x, /proc/<pid>/ns/net, /var/run/netns/…).
   * NetnsNotFoundError when it does not exist, NotANetnsError when it is not nsfs/procfs.
   */
  static open(path: string): NetNS {
    let type: number | bigint | undefined;
    try {
      const statfs = (fs as { statfsSync?: (p: string) => { type: number | bigint } }).statfsSync;
      if (typeof statfs === 'function') type = statfs(path).type;
      else fs.statSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NetnsNotFoundError(path);
      throw new NotANetnsError(path, `failed to Statfs ${JSON.stringify(path)}: ${(e as Error).message}`);
    }
    if (type !== undefined && !isNetnsFsType(type)) {
      throw new NotANetnsError(path, unknownMagicMessage(path, type));
    }
    let fd: number;
    try {
      // libuv opens with O_CLOEXEC, so the fd does not leak into exec'd delegates.
      fd = fs.openSync(path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NetnsNotFoundError(path);
      throw e;
    }
    const ns = new NetNS(path, fd);
    if (type === undefined) probeNetns(ns);
    return ns;
  }

  close(): void {
    if (this._fd >= 0) {
      const fd = this._fd;
      this._fd = -1;
      fs.closeSync(fd);
    }
  }
}

// Without statfs (some runtimes), the only check is whether the kernel accepts setns into it.
function probeNetns(ns: NetNS): void {
  const cur = current();
  try {
    native().setns(ns.fd, CLONE_NEWNET);
  } catch (e) {
    ns.close();
    throw new NotANetnsError(ns.path, `${ns.path} is not a network namespace: ${(e as Error).message}`);
  }
  returnTo(cur);
}

let host: NetNS | undefined;
/** The namespace the current window will return to (host unless windows are nested). */
let active: NetNS | undefined;

/**
 * The thread's namespace at first call (/proc/thread-self/ns/net). Call it at start-up, before
 * any withNetns(), so it records the real host namespace.
 */
export function hostNetns(): NetNS {
  if (!host) host = NetNS.open('/proc/thread-self/ns/net');
  return host;
}

function current(): NetNS {
  return active ?? hostNetns();
}

// A process left inside a container namespace would configure the wrong host: stop it.
function returnTo(ns: NetNS): void {
  try {
    native().setns(ns.fd, CLONE_NEWNET);
  } catch (e) {
    const msg = `failed to return to host network namespace: ${(e as Error).message}`;
    try {
      fs.writeSync(1, JSON.stringify({ code: 999, msg }));
    } finally {
      process.exit(1);
    }
  }
}

/**
 * Runs fn with the calling thread switched into ns, and switches back (to the host, or to the
 * enclosing window's namespace) before returning or throwing. fn must be synchronous: anything
 * it leaves for later would run outside the namespace.
 */
export function withNetns<T>(ns: NetNS, fn: () => T): T {
  const back = current();
  native().setns(ns.fd, CLONE_NEWNET);
  active = ns;
  let result: T;
  try {
    result = fn();
  } finally {
    active = back === host ? undefined : back;
    returnTo(back);
  }
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    throw new TypeError('withNetns: the callback must be synchronous (it returned a promise)');
  }
  return result;
}

/** True when both handles refer to the same namespace (same nsfs device and inode). */
export function sameNetns(a: NetNS, b: NetNS): boolean {
  const sa = fs.fstatSync(a.fd);
  const sb = fs.fstatSync(b.fd);
  return sa.dev === sb.dev && sa.ino === sb.ino;
}
