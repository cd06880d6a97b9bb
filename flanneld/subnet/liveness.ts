// Is etcd answering? A quiet daemon makes no etcd call for hours (renewal comes near expiry, the
// watch stream is idle), so a stopped or hung etcd (SIGSTOP, a blackholed path: the TCP
// connection stays open and nothing answers) would go unnoticed until the lease is lost. When
// nothing succeeded for `idleMs`, one cheap probe is made; no answer within `timeoutMs` counts as
// unreachable, so readiness says so within idle + timeout + one period.
import type { RegistryStats } from './registry';

interface LivenessOptions {
  /** A cheap call that resolves when etcd answers (any answer, even an error reply, is an answer). */
  probe(): Promise<unknown>;
  /** True when the probe's failure means "could not talk to etcd" rather than "etcd said no". */
  isConnectionError(e: unknown): boolean;
  /** How long without any successful call before a probe is made. */
  idleMs: number;
  timeoutMs: number;
  now?: () => number;
}

export class EtcdLiveness {
  private inFlight = false;
  private readonly now: () => number;

  constructor(private readonly stats: RegistryStats, private readonly o: LivenessOptions) {
    this.now = o.now ?? Date.now;
  }

  /** One check; resolves once the probe (if one was due) answered or timed out. */
  async check(): Promise<void> {
    if (this.inFlight) return;
    const last = this.stats.lastContactMs ?? 0;
    if (this.stats.connected && this.now() - last < this.o.idleMs) return;
    this.inFlight = true;
    this.stats.probeCount = (this.stats.probeCount ?? 0) + 1;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), this.o.timeoutMs); });
    try {
      const r = await Promise.race([this.o.probe().then(() => 'ok' as const, (e: unknown) => e), timeout]);
      if (r === 'ok') {
        this.stats.connected = true;
        this.stats.lastContactMs = this.now();
      } else if (r === 'timeout') {
        this.stats.connected = false;
        this.stats.lastError = `no answer from etcd within ${this.o.timeoutMs} ms (stopped, hung or unreachable)`;
      } else if (this.o.isConnectionError(r)) {
        this.stats.connected = false;
        this.stats.lastError = firstLine(r);
      } else {
        // etcd answered with an error (permission, auth): it is there.
        this.stats.connected = true;
        this.stats.lastContactMs = this.now();
      }
    } finally {
      clearTimeout(timer);
      this.inFlight = false;
    }
  }
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
