// Readiness and metrics (issue 15): /readyz is not ready before the lease (etcd unreachable at
// start) and says why; /metrics is valid Prometheus text with the metrics; /debug/state
// answers loopback only; without --healthz-port nothing listens.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { FlannelCluster, leaseSubnet, routeTo, type ClusterNode } from '../helpers/flannel-cluster';
import { httpIn } from '../helpers/flannel-pods';
import { eventually, startFlanneld, waitForFile } from '../helpers/flanneld-proc';
import { execIn } from '../helpers/netns';
import { builds } from '../helpers/plugins';

const CONFIG = { Network: '10.2.0.0/16', Backend: { Type: 'vxlan' } };
const PORT = 9103;

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Exposition { help: Map<string, string>; type: Map<string, string>; samples: Sample[] }

/** Prometheus text format 0.0.4: `# HELP name text`, `# TYPE name kind`, `name{l="v",…} value`; anything else is an error. */
function parseProm(text: string): Exposition {
  const out: Exposition = { help: new Map(), type: new Map(), samples: [] };
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line))) {
      assert.ok(!out.help.has(m[1]!), `one HELP for ${m[1]}`);
      out.help.set(m[1]!, m[2]!);
    } else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      assert.ok(!out.type.has(m[1]!), `one TYPE for ${m[1]}`);
      assert.ok(!out.samples.some((s) => s.name === m![1]), `TYPE of ${m[1]} before its samples`);
      out.type.set(m[1]!, m[2]!);
    } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)(?: -?\d+)?$/.exec(line))) {
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
      out.samples.push({ name: m[1]!, labels, value: Number(m[3]) });
    } else {
      assert.fail(`not a Prometheus text line: ${JSON.stringify(line)}`);
    }
  }
  for (const s of out.samples) assert.ok(out.type.has(s.name), `${s.name} has a TYPE`);
  return out;
}

for (const build of builds()) {
  describe(`flanneld health server: /readyz, /metrics, /debug/state (${build.label} build)`, () => {
    let c: FlannelCluster;
    let nodes: ClusterNode[];
    const figures: string[] = [];
    const get = (n: ClusterNode, p: string, o: { from?: ClusterNode; host?: string } = {}): { status: number; body: string } =>
      httpIn((o.from ?? n).host.ns.name, `http://${o.host ?? '127.0.0.1'}:${PORT}${p}`);

    before(async () => {
      c = await FlannelCluster.create(build, `hz${build.label[0]}`, 3, { '/coreos.com/network': CONFIG });
      nodes = c.nodes;
    });

    after(async () => {
      await c?.destroy();
      if (figures.length) console.log(`# figure (${build.label}) health: ${figures.join('; ')}`);
    });

    it('/readyz is 503 before the lease while etcd is unreachable at start, saying "no lease yet" and "etcd unreachable"; 200 once etcd is there', async () => {
      const n1 = nodes[0]!;
      await c.etcd.kill();
      n1.daemon = startFlanneld(build.dir, n1.host.ns.name, c.daemonArgs(n1, [`--healthz-port=${PORT}`]));
      try {
        const r = await eventually('/readyz answers', 10_000, () => { const x = get(n1, '/readyz'); return x.status !== 0 && x; });
        assert.equal(r.status, 503);
        assert.match(r.body, /^not ready: no lease yet; etcd unreachable/);
        assert.equal(get(n1, '/healthz').status, 200, 'alive while waiting for etcd');
        assert.equal(fs.existsSync(n1.subnetFile), false);
      } finally {
        await c.etcd.restart();
      }
      const t0 = Date.now();
      await waitForFile(n1.subnetFile, 20_000, n1.daemon);
      await eventually('/readyz 200', 15_000, () => get(n1, '/readyz').status === 200);
      figures.push(`etcd up → ready ${Date.now() - t0} ms`);
      assert.equal(get(n1, '/readyz').body, 'ready\n');
    });

    it('/metrics is Prometheus text with leases known, reconcile runs/repairs/errors, etcd contact, lease expiry, watch events, programming latency, MTU', async () => {
      const [n1, n2] = nodes as [ClusterNode, ClusterNode];
      await c.start(n2);
      await eventually('n1 programs n2', 10_000, () => routeTo(n1, leaseSubnet(n2)));
      const r = get(n1, '/metrics');
      assert.equal(r.status, 200);
      const m = parseProm(r.body);
      const v = (name: string, labels?: Record<string, string>): number => {
        const s = m.samples.filter((x) => x.name === name && (!labels || Object.entries(labels).every(([k, val]) => x.labels[k] === val)));
        assert.ok(s.length > 0, `${name} present in:\n${r.body}`);
        return s.reduce((a, x) => a + x.value, 0);
      };
      const now = Date.now() / 1000;
      assert.equal(v('flanneld_leases_known'), 2);
      assert.ok(v('flanneld_reconcile_runs_total') >= 1);
      assert.ok(v('flanneld_reconcile_repairs_total') >= 3, 'route, ARP and FDB of n2 at least');
      assert.equal(v('flanneld_reconcile_errors_total'), 0);
      assert.ok(Math.abs(v('flanneld_etcd_last_contact_timestamp_seconds') - now) < 10);
      assert.equal(v('flanneld_etcd_up'), 1);
      assert.ok(Math.abs(v('flanneld_lease_expiry_timestamp_seconds') - (now + 86400)) < 120);
      assert.ok(v('flanneld_watch_events_total', { type: 'added' }) >= 1, 'n2 joined through the watch');
      const lat = v('flanneld_programming_latency_seconds');
      assert.ok(lat >= 0 && lat < 1, `${lat}`);
      assert.equal(v('flanneld_mtu'), 1450);
      assert.ok(v('flanneld_etcd_rpcs_total') > 0);
      for (const [name, kind] of m.type) if (kind === 'counter') assert.match(name, /_total$/, 'counters end in _total');
      figures.push(`/metrics: ${m.samples.length} samples, ${m.type.size} metrics; programming latency ${Math.round(lat * 1000)} ms`);
    });

    it('/debug/state answers loopback (desired and found state as JSON) and 403 to another node\'s address', () => {
      const [n1, n2] = nodes as [ClusterNode, ClusterNode];
      // n1 runs with --healthz-ip 0.0.0.0 (the default), so another netns reaches the server at all.
      const local = get(n1, '/debug/state');
      assert.equal(local.status, 200);
      const st = JSON.parse(local.body);
      assert.equal(st.own.subnets, leaseSubnet(n1));
      assert.deepEqual(st.backend.ipv4.desired.routes.length, 1);
      assert.deepEqual(st.notReady, []);
      const remote = get(n1, '/debug/state', { from: n2, host: n1.host.ip });
      assert.equal(remote.status, 403, remote.body);
      assert.match(remote.body, /loopback clients only/);
      assert.equal(get(n1, '/readyz', { from: n2, host: n1.host.ip }).status, 200, 'the rest answers that address');
    });

    it('without --healthz-port nothing listens', () => {
      const n2 = nodes[1]!;
      assert.equal(n2.daemon!.proc.exitCode, null, 'n2 running');
      assert.doesNotMatch(n2.daemon!.output(), /health: listening/);
      const tcp = execIn(n2.host.ns.name, 'ss', ['-Hltnp']).trim();
      assert.equal(tcp, '', `TCP sockets listening in n2's namespace:\n${tcp}`);
      // UDP 8472 is the kernel's vxlan socket (no process owns it); no process may have one.
      const udp = execIn(n2.host.ns.name, 'ss', ['-Hlunp']).split('\n').filter((l) => l.includes('users:'));
      assert.deepEqual(udp, [], `UDP sockets of processes in n2's namespace`);
      assert.match(execIn(n2.host.ns.name, 'ss', ['-Hlun']), /:8472\b/, 'the vxlan socket is seen (the check can see sockets)');
    });
  });
}
