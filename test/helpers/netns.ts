// Throw-away network namespaces for kernel tests, with `ip`/`bridge` as independent oracles.
// Every namespace made here is registered, so an after() hook can remove them all even when a
// test failed half-way: `after(cleanupAllNetns)`.
import { execFileSync } from 'child_process';

export interface TestNetns {
  name: string;
  /** /run/netns/<name> */
  path: string;
  cleanup(): void;
}

const registry = new Map<string, TestNetns>();
const extraCleanups: (() => void)[] = [];
let counter = 0;

function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input });
  } catch (e) {
    const err = e as { stderr?: string; status?: number; message: string };
    const msg = `${cmd} ${args.join(' ')} failed (exit ${err.status ?? '?'}): ${(err.stderr ?? '').trim() || err.message}`;
    throw Object.assign(new Error(msg), { stderr: err.stderr ?? '', status: err.status });
  }
}

/** A new namespace named `cts<pid>-<prefix>-<n>` (lo left down, like a fresh container). */
export function makeNetns(prefix: string): TestNetns {
  const name = `cts${process.pid}-${prefix}-${++counter}`;
  if (name.length > 200) throw new Error(`netns name too long: ${name}`);
  run('ip', ['netns', 'add', name]);
  const ns: TestNetns = {
    name,
    path: `/run/netns/${name}`,
    cleanup() {
      if (!registry.has(name)) return;
      registry.delete(name);
      try {
        run('ip', ['netns', 'del', name]);
      } catch (e) {
        if (!/No such file|not exist/i.test(String((e as Error).message))) throw e;
      }
    },
  };
  registry.set(name, ns);
  return ns;
}

/** Registers any other cleanup to run in cleanupAllNetns (before namespaces are deleted). */
export function onCleanup(fn: () => void): void {
  extraCleanups.push(fn);
}

/** Runs registered cleanups and deletes every namespace made by this process. */
export function cleanupAllNetns(): void {
  const errors: string[] = [];
  for (const fn of extraCleanups.splice(0).reverse()) {
    try { fn(); } catch (e) { errors.push((e as Error).message); }
  }
  for (const ns of [...registry.values()]) {
    try { ns.cleanup(); } catch (e) { errors.push((e as Error).message); }
  }
  if (errors.length) throw new Error(`cleanup failed: ${errors.join('; ')}`);
}

/** Names of namespaces this process made and has not yet removed. */
export const liveNetns = (): string[] => [...registry.keys()];

/** `ip -n <ns> -j <args…>` parsed; [] for empty output. */
export function ipJson(nsName: string, args: string[]): any {
  const out = run('ip', ['-n', nsName, '-j', ...args]).trim();
  return out === '' ? [] : JSON.parse(out);
}

/** `bridge -n <ns> -j <args…>` parsed; [] for empty output. */
export function bridgeJson(nsName: string, args: string[]): any {
  const out = run('bridge', ['-n', nsName, '-j', ...args]).trim();
  return out === '' ? [] : JSON.parse(out);
}

/** `ip netns exec <ns> <cmd> <args…>`; returns stdout, throws with stderr on failure. */
export function execIn(nsName: string, cmd: string, args: string[], input?: string): string {
  return run('ip', ['netns', 'exec', nsName, cmd, ...args], input);
}

/** `ip -n <ns> <args…>` (plain, for setting up fixtures); returns stdout. */
export function ipIn(nsName: string, args: string[]): string {
  return run('ip', ['-n', nsName, ...args]);
}

/** Namespaces on the machine whose name starts with this process's prefix (leak check). */
export function leakedNetns(): string[] {
  const prefix = `cts${process.pid}-`;
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}
