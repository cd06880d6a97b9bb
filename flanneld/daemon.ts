// flanneld's one event loop: it wires the subnet manager (etcd leases), the backend (the kernel
// objects each remote lease needs), the iptables chains and subnet.env. Lease events only
// change the desired state; a debounced reconcile makes the kernel match it, and a periodic
// full reconcile repairs whatever changed under the daemon (a deleted route, FDB or ARP entry).
// Nothing is flushed on exit: a restart keeps the datapath, so pods lose no packets.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Server } from 'node:http';
import { NetlinkSocket } from '../shared/netlink';
import { cidrEquals, formatCIDR, formatIP, type CIDR, type IP } from '../shared/ip';
import { writeFileAtomic } from '../shared/state/atomic-file';
import { mkdirAll } from '../shared/state/mkdir-all';
import { formatSubnetEnv, parseSubnetEnv } from '../shared/subnet-env/format';
import { createBackend } from './backend';
import type { BackendNetwork } from './backend/types';
import { selectExternalInterface, type ExternalInterface } from './datapath/external-iface';
import { checkOverlaps } from './datapath/overlap-check';
import { ensureBlackholeRoutes } from './datapath/blackhole';
import { ensureTxChecksumOff } from './datapath/tx-checksum';
import { vxlanDeviceName } from './backend/vxlan';
import { overlapMessage } from './datapath/overlap';
import { KernelEventWatch } from './datapath/kernel-events';
import { startHealthServer } from './health';
import { loadLocalState, newNodeId, saveLocalState, type LocalState } from './local-state';
import type { Logger, LogLevel } from './log';
import { createTrafficManager, type TrafficManager } from './masq/traffic-manager';
import { Metrics } from './metrics';
import { enabledFamilies, parseNetworkConfig, vxlanConfig } from './network-config';
import { notifyReady, notifyStatus, notifyStopping } from './notify';
import { EtcdUnavailableError } from './etcd/errors';
import { nextBackoff } from './subnet/backoff';
import type { Options } from './options';
import { createEtcdSubnetManager, type SubnetManager } from './subnet/etcd-manager';
import type { Family, Lease, LeaseEvent, NetworkConfig, PerFamily } from './types';

/** A failure that stops the daemon before it is running (bad config, no interface, TLS refused). */
class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

// Repair within 10 s of what netlink notifications do not report (an entry rewritten by hand).
const FULL_RECONCILE_MS = 5_000;
/** etcd silent this long gets a probe, so /readyz reports a stopped or hung etcd within 10 s. */
const ETCD_PROBE_MS = 2_000;
const DEBOUNCE_MS = 5;
/** Kernel changes of one pass logged one by one at info; the rest are summed up. */
const LOGGED_CHANGES = 50;

export class Daemon {
  private mgr!: SubnetManager;
  private sock!: NetlinkSocket;
  private config!: NetworkConfig;
  private ext!: ExternalInterface;
  private backend!: BackendNetwork;
  private own?: Lease;
  private readonly leases = new Map<string, Lease>();
  private traffic?: TrafficManager;
  private readonly metrics = new Metrics();
  private health?: Server;
  private kernelWatch?: KernelEventWatch;
  private timers: NodeJS.Timeout[] = [];
  private pending?: NodeJS.Timeout;
  private pendingSince = 0;
  private subnetEnvWritten = false;
  private lastReconcileErrors: string[] = [];
  private lastRuleErrors: string[] = [];
  private stopping = false;
  /** Set by the first complete lease list: before it, the daemon's view has only its own lease. */
  private listed = false;

  constructor(
    private readonly opts: Options,
    private readonly logger: Logger,
  ) {
    this.defineMetrics();
  }

  private get log() {
    return this.logger.log;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const configKey = `${o.etcdPrefix.replace(/\/+$/, '')}/config`;
    if (o.healthzPort > 0) {
      this.health = await startHealthServer(o.healthzIP, o.healthzPort, {
        notReadyReasons: () => this.notReadyReasons(),
        metricsText: () => this.metricsText(),
        stateDump: () => this.stateDump(),
      }, this.log);
    }

    this.mgr = createEtcdSubnetManager({
      endpoints: o.etcdEndpoints,
      prefix: o.etcdPrefix,
      // Options keep unset flags as '' (Go's flag defaults); the client wants them absent.
      cafile: o.etcdCAFile || undefined,
      certfile: o.etcdCertFile || undefined,
      keyfile: o.etcdKeyFile || undefined,
      username: o.etcdUsername || undefined,
      password: o.etcdPassword || undefined,
      ttlSeconds: o.subnetLeaseTTLSeconds,
      renewMarginSeconds: o.subnetLeaseRenewMarginMinutes * 60,
      log: this.log,
    });
    // etcd may start after us (boot order): wait for it; a missing or invalid config, a TLS
    // failure or bad credentials are the operator's to fix and end the start at once.
    const raw = await this.untilReachable('reading the network config', () => this.mgr.getNetworkConfig());
    this.config = parseNetworkConfig(raw, configKey);
    const families = enabledFamilies(this.config);
    this.log('info', `network config ${configKey}: ${describeConfig(this.config)}`);
    this.traffic = createTrafficManager(this.config.enableNFTables, {
      families,
      networks: Object.fromEntries(families.map((f) => [f, this.config.plans[f]!.network])),
      ipMasq: o.ipMasq,
      forwardRules: o.iptablesForwardRules,
      randomFully: !o.ipMasqFullyRandomDisable,
    }, this.log);
    // The other mode's leftovers would keep masquerading for an older subnet.
    for (const e of this.traffic.cleanupOther().errors) this.log('warn', e);

    const state = this.loadState();
    this.sock = NetlinkSocket.open();
    this.ext = selectExternalInterface(this.sock, {
      iface: o.iface,
      ifaceRegex: o.ifaceRegex,
      ifaceCanReach: o.ifaceCanReach || undefined,
      publicIP: o.publicIP || undefined,
      publicIPv6: o.publicIPv6 || undefined,
      families,
    });
    this.log('info', `external interface ${this.ext.name} (chosen by ${this.ext.chosenBy}, index ${this.ext.index}, MTU ${this.ext.mtu}), ` +
      families.map((f) => `IPv${f} ${fmtIP(this.ext.addr[f])} public ${fmtIP(this.ext.publicIP[f])}`).join(', '));
    // A Network over the node's own networks would capture its traffic: refused before a lease
    // is taken (lease-shaped routes, which may be our own cni0's, once we hold it, just below).
    const conflicts = checkOverlaps(this.sock, this.config, families, this.ext);
    if (conflicts.length > 0) throw new StartupError(overlapMessage(configKey, conflicts));

    this.backend = createBackend(this.sock, this.config, this.ext, { vtepMac: state.vtepMac }, this.log);
    this.ensureTxChecksum();
    const attrs = { ...this.backend.leaseAttrs(), publicIP: this.ext.publicIP, nodeId: state.nodeId };
    this.persistMacs(state, this.backend.persisted().vtepMac);
    this.metrics.set('flanneld_mtu', this.backend.mtu);

    const prev = this.previousSubnets();
    const lease = await this.untilReachable('acquiring a lease', () => this.mgr.acquireLease(this.config, attrs, prev));
    const leaseConflicts = checkOverlaps(this.sock, this.config, families, this.ext, lease.subnets);
    if (leaseConflicts.length > 0) throw new StartupError(overlapMessage(configKey, leaseConflicts));
    this.adoptOwnLease(lease, 'acquired');

    this.mgr.keepLease(lease, {
      onRenewed: (l) => {
        this.own = l;
        this.log('debug', `lease ${l.keyName} renewed`);
      },
      onReacquired: (l, changed) => {
        this.log(changed ? 'warn' : 'info', changed
          ? `lease lost and its subnet taken: now ${l.keyName}; pods of the old subnet need re-creating`
          : `lease ${l.keyName} re-acquired (same subnet)`);
        this.adoptOwnLease(l, 're-acquired');
      },
      onError: (e) => this.logger.throttled('warn', `lease:${e.message}`, `lease renewal: ${e.message}`),
    });

    this.mgr.watchLeases(
      (all) => this.onSnapshot(all),
      (ev) => this.onEvent(ev),
    );

    this.mgr.monitorConnection(ETCD_PROBE_MS);
    this.watchKernel();
    this.timers.push(setInterval(() => this.reconcile('periodic check'), FULL_RECONCILE_MS));
    if (o.ipBlackholeRoute) this.timers.push(setInterval(() => this.ensureBlackhole(), FULL_RECONCILE_MS));
    if (o.disableVxlanTxChecksumOffload) this.timers.push(setInterval(() => this.ensureTxChecksum(), FULL_RECONCILE_MS));
    if (o.ipMasq || o.iptablesForwardRules) {
      this.timers.push(setInterval(() => this.ensureRules(false), o.iptablesResyncSeconds * 1000));
    }
    this.safeNotify(() => notifyReady(`subnet ${this.ownSubnetText()}`));
  }

  /** SIGTERM/SIGINT: stop renewal and watching at once; the kernel state stays as it is. */
  async stop(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log('info', `${signal}: shutting down (the datapath, rules and subnet.env stay in place)`);
    this.safeNotify(() => notifyStopping());
    for (const t of this.timers) clearInterval(t);
    this.kernelWatch?.close();
    if (this.pending) clearTimeout(this.pending);
    this.mgr?.stop();
    this.health?.close();
    await Promise.race([this.mgr?.close(), new Promise((r) => setTimeout(r, 2000))]);
    this.sock?.close();
  }

  /** Runs `fn` until etcd answers (jittered backoff 1 s → 5 s); other errors end the start. */
  private async untilReachable<T>(what: string, fn: () => Promise<T>): Promise<T> {
    let delay = 0;
    for (;;) {
      if (this.stopping) throw new StartupError('stopped');
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof EtcdUnavailableError)) throw e;
        // Capped at 5 s: a daemon waiting at boot is ready within seconds of etcd's arrival.
        delay = nextBackoff(delay, 1000, 5_000);
        this.safeNotify(() => notifyStatus(`waiting for etcd: ${e.message}`));
        this.logger.throttled('warn', `unreachable:${what}`, `${what}: ${e.message}; retrying`, 30_000);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Repair at once when netlink says something of ours was deleted or changed; else the periodic check does it. */
  private watchKernel(): void {
    try {
      this.kernelWatch = new KernelEventWatch(() => ({ links: this.backend.ownedLinks?.() ?? [] }), (why) => this.scheduleReconcile(`kernel: ${why}`));
    } catch (e) {
      this.log('warn', `netlink notifications unavailable (${(e as Error).message}): damage is repaired by the check every ${FULL_RECONCILE_MS / 1000} s`);
    }
  }

  private safeNotify(fn: () => unknown): void {
    try {
      fn();
    } catch (e) {
      this.logger.throttled('warn', 'notify', `NOTIFY_SOCKET: ${(e as Error).message}`);
    }
  }

  private adoptOwnLease(lease: Lease, how: string): void {
    const changed = !this.own || this.own.keyName !== lease.keyName;
    this.own = lease;
    this.leases.set(lease.keyName, lease);
    if (!changed) return;
    this.log('info', `lease ${how}: ${this.ownSubnetText()} (etcd key ${this.opts.etcdPrefix}/subnets/${lease.keyName})`);
    try {
      this.backend.setOwnLease(lease);
    } catch (e) {
      // At start this ends the start; later the lease is still ours: the rules and subnet.env
      // follow it, and the next full pass puts the device's address right.
      if (how === 'acquired') throw e;
      this.log('error', `${how} lease ${lease.keyName}: ${(e as Error).message}`);
    }
    this.ensureBlackhole();
    this.traffic!.setDesired(lease);
    this.ensureRules(true);
    // At start a rule set that cannot be installed (no iptables, no kernel support) ends the
    // start: pods would get a subnet.env promising masquerade that does not happen.
    if (how === 'acquired' && this.lastRuleErrors.length > 0) {
      throw new StartupError(`cannot install the ${this.traffic!.mode} rules: ${this.lastRuleErrors.join('; ')}`);
    }
    this.writeSubnetEnv(lease);
    this.scheduleReconcile('own lease');
  }

  private onSnapshot(all: Lease[]): void {
    const before = new Set(this.leases.keys());
    this.listed = true;
    this.leases.clear();
    for (const l of all) this.leases.set(l.keyName, l);
    if (this.own && !this.leases.has(this.own.keyName)) this.leases.set(this.own.keyName, this.own);
    const added = [...this.leases.keys()].filter((k) => !before.has(k));
    const gone = [...before].filter((k) => !this.leases.has(k));
    this.log('info', `leases listed: ${this.leases.size} (${added.length} new, ${gone.length} gone since the last list)`);
    this.metrics.inc('flanneld_lease_lists_total');
    this.scheduleReconcile('lease list');
  }

  private onEvent(ev: LeaseEvent): void {
    this.metrics.inc('flanneld_watch_events_total', 1, { type: ev.type });
    const k = ev.lease.keyName;
    if (ev.type === 'added') {
      this.leases.set(k, ev.lease);
      if (k !== this.own?.keyName) this.log('info', `lease added: ${k} (public IP ${fmtIP(ev.lease.attrs.publicIP[4] ?? ev.lease.attrs.publicIP[6])}, ${ev.lease.attrs.backendType})`);
    } else {
      if (k === this.own?.keyName) return; // keepLease re-acquires it
      this.leases.delete(k);
      this.log('info', `lease removed: ${k}`);
    }
    this.scheduleReconcile(`lease ${ev.type} ${k}`);
  }

  private scheduleReconcile(reason: string): void {
    if (this.stopping || this.pending) return;
    this.pendingSince = Date.now();
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.reconcile(reason);
    }, DEBOUNCE_MS);
  }

  private remoteLeases(): Lease[] {
    const own = this.own;
    return [...this.leases.values()].filter((l) => {
      if (!own) return true;
      if (l.keyName === own.keyName) return false;
      return !(['4', '6'] as const).some((f) => {
        const a = l.subnets[Number(f) as Family];
        const b = own.subnets[Number(f) as Family];
        return a && b && cidrEquals(a, b);
      });
    });
  }

  private reconcile(reason: string): void {
    // Before the first list, "no remote lease" would remove every peer's route, ARP and FDB
    // entry that the previous run left: a restart would drop packets.
    if (this.stopping || !this.own || !this.listed) return;
    const t0 = Date.now();
    const remote = this.remoteLeases();
    let report;
    try {
      report = this.backend.reconcile(remote);
    } catch (e) {
      report = { added: [], removed: [], errors: [(e as Error).message] };
    }
    const ms = Date.now() - t0;
    this.metrics.inc('flanneld_reconcile_runs_total');
    this.metrics.set('flanneld_leases_known', this.leases.size);
    this.metrics.set('flanneld_reconcile_last_duration_seconds', ms / 1000);
    if (this.pendingSince) {
      this.metrics.set('flanneld_programming_latency_seconds', (Date.now() - this.pendingSince) / 1000);
      this.pendingSince = 0;
    }
    const changes = report.added.length + report.removed.length;
    if (changes > 0) {
      this.metrics.inc('flanneld_reconcile_repairs_total', changes);
      const periodic = reason === 'periodic check' || reason.startsWith('kernel: ');
      const lines = [
        ...report.added.map((a): [LogLevel, string] => [periodic ? 'warn' : 'info', `${periodic ? 'repaired' : 'programmed'} ${a} (${reason})`]),
        ...report.removed.map((r): [LogLevel, string] => ['info', `removed ${r} (${reason}: no lease wants it)`]),
      ];
      // A start among 1000 leases writes 3000 objects: the first ones at their level, then one
      // summary line, the rest at debug (journald rate-limits a burst and would drop the summary).
      lines.forEach(([level, msg], i) => this.log(i < LOGGED_CHANGES ? level : 'debug', msg));
      if (lines.length > LOGGED_CHANGES) {
        this.log('info', `… and ${lines.length - LOGGED_CHANGES} more kernel changes (${report.added.length} added, ${report.removed.length} removed in all; --log-level=debug lists each)`);
      }
    }
    if (report.errors.length > 0) {
      this.metrics.inc('flanneld_reconcile_errors_total', report.errors.length);
      for (const e of report.errors) this.logger.throttled('error', `reconcile:${e}`, `reconcile: ${e}`);
    }
    this.lastReconcileErrors = report.errors;
  }

  private ensureRules(force: boolean): void {
    if (this.stopping) return;
    const r = this.traffic!.ensure(force);
    if (r.repaired.length && !force) this.metrics.inc('flanneld_rule_repairs_total', r.repaired.length);
    for (const e of r.errors) this.logger.throttled('error', `rules:${e}`, `${this.traffic!.mode}: ${e}`);
    this.lastRuleErrors = r.errors;
  }

  /** --ip-blackhole-route: our subnet's blackhole route present, an older subnet's gone. */
  private ensureBlackhole(): void {
    if (!this.opts.ipBlackholeRoute || !this.own || this.stopping) return;
    const networks: PerFamily<CIDR> = {};
    for (const f of enabledFamilies(this.config)) networks[f] = this.config.plans[f]!.network;
    const r = ensureBlackholeRoutes(this.sock, this.own.subnets, networks);
    for (const a of r.added) this.log('info', `--ip-blackhole-route: added ${a}`);
    for (const d of r.removed) this.log('info', `--ip-blackhole-route: removed ${d} (not our subnet)`);
    for (const e of r.errors) this.logger.throttled('error', `blackhole:${e}`, e);
  }

  /** --disable-vxlan-tx-checksum-offload: off on flannel.<VNI> / flannel-v6.<VNI>, again after a re-creation. */
  private ensureTxChecksum(): void {
    if (!this.opts.disableVxlanTxChecksumOffload || this.stopping) return;
    if (this.config.backend.type !== 'vxlan') {
      this.logger.throttled('warn', 'txcsum', `--disable-vxlan-tx-checksum-offload has no effect with the ${this.config.backend.type} backend`, 3_600_000);
      return;
    }
    const vni = vxlanConfig(this.config.backend).vni;
    const r = ensureTxChecksumOff(enabledFamilies(this.config).map((f) => vxlanDeviceName(f, vni)));
    for (const d of r.changed) this.log('info', `--disable-vxlan-tx-checksum-offload: tx checksum offload turned off on ${d}`);
    for (const e of r.errors) this.logger.throttled('error', `txcsum:${e}`, e);
  }

  private writeSubnetEnv(lease: Lease): void {
    const networks: PerFamily<CIDR> = {};
    for (const f of enabledFamilies(this.config)) networks[f] = this.config.plans[f]!.network;
    const text = formatSubnetEnv({ networks, subnets: lease.subnets, mtu: this.backend.mtu, ipMasq: this.opts.ipMasq });
    const file = this.opts.subnetFile;
    try {
      mkdirAll(path.dirname(file), 0o755);
      writeFileAtomic(file, text, { mode: 0o644 });
      this.subnetEnvWritten = true;
      this.log('info', `wrote ${file}: ${text.trim().split('\n').join(' ')}`);
    } catch (e) {
      this.subnetEnvWritten = false;
      this.log('error', `cannot write --subnet-file ${file}: ${(e as Error).message}`);
    }
  }

  private previousSubnets(): PerFamily<CIDR> {
    const file = this.opts.subnetFile;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return {};
    }
    try {
      const env = parseSubnetEnv(text, file);
      const prev: PerFamily<CIDR> = {};
      if (env.subnet) prev[4] = env.subnet;
      if (env.ip6Subnet) prev[6] = env.ip6Subnet;
      return prev;
    } catch (e) {
      this.log('warn', `ignoring the previous ${file}: ${(e as Error).message}`);
      return {};
    }
  }

  private loadState(): LocalState {
    const file = this.opts.stateFile;
    let state: LocalState | undefined;
    try {
      state = loadLocalState(file, (m) => this.log('warn', `--state-file ${file}: ${m}; starting with a new node identity`));
    } catch (e) {
      this.log('warn', `--state-file ${file}: ${(e as Error).message}; starting with a new node identity`);
    }
    if (!state) {
      state = { nodeId: newNodeId(), vtepMac: {} };
      this.saveState(state);
      this.log('info', `new node identity ${state.nodeId} (kept in ${file})`);
    }
    return state;
  }

  private persistMacs(state: LocalState, macs: PerFamily<string>): void {
    let changed = false;
    for (const f of [4, 6] as const) {
      const mac = macs[f];
      if (mac && state.vtepMac[f] !== mac) {
        state.vtepMac[f] = mac;
        changed = true;
      }
    }
    if (changed) this.saveState(state);
  }

  private saveState(state: LocalState): void {
    try {
      saveLocalState(this.opts.stateFile, state);
    } catch (e) {
      this.log('warn', `cannot write --state-file ${this.opts.stateFile}: ${(e as Error).message} (the VtepMAC will change on the next restart)`);
    }
  }

  private ownSubnetText(): string {
    const s = this.own?.subnets;
    return s ? [s[4], s[6]].filter((c): c is CIDR => !!c).map(formatCIDR).join(' + ') : '(none)';
  }

  notReadyReasons(): string[] {
    const why: string[] = [];
    if (!this.own) why.push('no lease yet');
    else if (!this.subnetEnvWritten) why.push(`${this.opts.subnetFile} not written`);
    const st = this.mgr?.status();
    if (st && !st.connected) {
      const since = st.lastContactMs ? ` since ${new Date(st.lastContactMs).toISOString()}` : '';
      why.push(`etcd unreachable${since}${st.lastError ? ` (${st.lastError})` : ''}`);
    }
    if (this.lastRuleErrors.length) why.push(`${this.traffic?.mode ?? 'iptables'} rules missing: ${this.lastRuleErrors.join('; ')}`);
    if (this.lastReconcileErrors.length) why.push(`kernel programming failed: ${this.lastReconcileErrors.slice(0, 3).join('; ')}`);
    return why;
  }

  private defineMetrics(): void {
    const m = this.metrics;
    m.define('flanneld_leases_known', 'gauge', 'Leases (subnets) known from etcd, including our own.');
    m.define('flanneld_lease_lists_total', 'counter', 'Full lease lists (start, compaction, reconnect).');
    m.define('flanneld_watch_events_total', 'counter', 'Lease watch events received.');
    m.define('flanneld_reconcile_runs_total', 'counter', 'Reconciliations of the kernel against the leases.');
    m.define('flanneld_reconcile_repairs_total', 'counter', 'Kernel objects added or removed by reconciliations.');
    m.define('flanneld_reconcile_errors_total', 'counter', 'Kernel operations that failed during reconciliation.');
    m.define('flanneld_reconcile_last_duration_seconds', 'gauge', 'Duration of the last reconciliation.');
    m.define('flanneld_programming_latency_seconds', 'gauge', 'Time from the last lease change to the kernel programmed.');
    m.define('flanneld_rule_repairs_total', 'counter', 'iptables chains rewritten because they differed.');
    m.define('flanneld_mtu', 'gauge', 'FLANNEL_MTU written to subnet.env.');
    m.define('flanneld_etcd_up', 'gauge', '1 when the last etcd call succeeded.');
    m.define('flanneld_etcd_last_contact_timestamp_seconds', 'gauge', 'Unix time of the last successful etcd call.');
    m.define('flanneld_etcd_rpcs_total', 'counter', 'etcd RPCs issued (config and lease calls).');
    m.define('flanneld_etcd_probes_total', 'counter', 'etcd liveness probes (made only when etcd was silent for 2 s).');
    m.define('flanneld_lease_expiry_timestamp_seconds', 'gauge', 'Unix time our lease expires unless renewed.');
  }

  private metricsText(): string {
    const st = this.mgr?.status();
    if (st) {
      this.metrics.set('flanneld_etcd_up', st.connected ? 1 : 0);
      if (st.lastContactMs) this.metrics.set('flanneld_etcd_last_contact_timestamp_seconds', st.lastContactMs / 1000);
      this.metrics.set('flanneld_etcd_rpcs_total', st.rpcCount);
      this.metrics.set('flanneld_etcd_probes_total', st.probeCount);
      if (st.leaseExpiresAt) this.metrics.set('flanneld_lease_expiry_timestamp_seconds', st.leaseExpiresAt / 1000);
    }
    this.metrics.set('flanneld_leases_known', this.leases.size);
    return this.metrics.render();
  }

  private stateDump(): unknown {
    return {
      own: this.own ? { key: this.own.keyName, subnets: this.ownSubnetText() } : null,
      leases: [...this.leases.keys()].sort(),
      backend: this.backend?.describe(),
      [this.traffic?.mode ?? 'iptables']: this.traffic?.describe(),
      notReady: this.notReadyReasons(),
    };
  }
}

function describeConfig(c: NetworkConfig): string {
  const parts = enabledFamilies(c).map((f) => {
    const p = c.plans[f]!;
    return `IPv${f} ${formatCIDR(p.network)} /${p.subnetLen} subnets`;
  });
  return `${parts.join(', ')}, backend ${c.backend.type}${c.enableNFTables ? ', nftables' : ''}`;
}

const fmtIP = (ip: IP | undefined): string => (ip ? formatIP(ip) : '-');
