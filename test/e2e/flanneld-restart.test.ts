// Restart without loss (issue 15): a 10/s ping between pods on two nodes runs while n2's daemon
// is killed (-9) and restarted, stopped with SIGTERM and restarted, and replaced by the other
// build's daemon on the same state and back (an upgrade). Not one ping may be lost, and n2 keeps
// its subnet, VtepMAC and flannel.1 (same ifindex: not re-created). A daemon that got SIGTERM
// never re-creates its lease.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { FlannelCluster, addressOf, leaseSubnet, linkOf, routeTo, type ClusterNode } from '../helpers/flannel-cluster';
import { attachPod, pingStream, type Pod } from '../helpers/flannel-pods';
import { eventually } from '../helpers/flanneld-proc';
import { builds } from '../helpers/plugins';

const CONFIG = { Network: '10.2.0.0/16', Backend: { Type: 'vxlan' } };
import { sleep } from '../../shared/base/sleep';

for (const build of builds()) {
  describe(`flanneld restart without loss (${build.label} build)`, () => {
    let c: FlannelCluster;
    let n1: ClusterNode;
    let n2: ClusterNode;
    let p1: Pod;
    let p2: Pod;
    const figures: string[] = [];

    const snapshot = (n: ClusterNode): { env: string; mac: string; ifindex: number } => {
      const l = linkOf(n);
      return { env: fs.readFileSync(n.subnetFile, 'utf8'), mac: l.address, ifindex: l.ifindex };
    };

    /** Starts n2's daemon (this build unless `binDir`) and waits until it has listed the leases and reconciled. */
    const restart = async (binDir?: string): Promise<void> => {
      await c.start(n2, binDir ? { binDir } : {});
      await n2.daemon!.waitForOutput((o) => /leases listed/.test(o), 20_000);
    };

    /** Runs `disrupt` under a 10/s ping p1 → p2 and asserts 0 lost and n2 unchanged. */
    const underPing = async (what: string, disrupt: () => Promise<void>): Promise<void> => {
      const before = snapshot(n2);
      const s = pingStream(p1.ns, p2.ip, 0.1);
      await sleep(1000);
      const t0 = Date.now();
      await disrupt();
      const ms = Date.now() - t0;
      await sleep(1500);
      const r = await s.stop();
      figures.push(`${what}: ${r.lost.length} lost of ${r.transmitted} (stop → restarted daemon listed the leases ${ms} ms)`);
      assert.deepEqual(r.lost, [], `${what}: lost icmp_seq ${r.lost.join(',')}\n${r.output}`);
      assert.ok(r.transmitted >= 20, `${r.transmitted} sent`);
      // Nothing of the peers' was removed and put back by the restarted daemon (a blip that loses
      // packets only when a ping falls into it).
      assert.doesNotMatch(n2.daemon!.output(), /removed .*no lease wants it/, n2.daemon!.output());
      const now = snapshot(n2);
      assert.equal(now.env, before.env, 'same subnet.env (same subnet)');
      assert.equal(now.mac, before.mac, 'same VtepMAC');
      assert.equal(now.ifindex, before.ifindex, 'same flannel.1 (not re-created)');
    };

    before(async () => {
      c = await FlannelCluster.create(build, `rs${build.label[0]}`, 3, { '/coreos.com/network': CONFIG });
      await c.startAll();
      [n1, n2] = c.nodes as [ClusterNode, ClusterNode];
      p1 = attachPod(c, n1, `rs${build.label[0]}`);
      p2 = attachPod(c, n2, `rs${build.label[0]}`);
    });

    after(async () => {
      await c?.destroy();
      if (figures.length) console.log(`# figure (${build.label}): ${figures.join('; ')}`);
    });

    it('kill -9 + restart: 0 of a 10/s ping lost; same subnet, VtepMAC and flannel.1', async () => {
      await underPing('kill -9 + restart', async () => {
        await n2.daemon!.stop('SIGKILL');
        await restart();
      });
    });

    it('SIGTERM + restart: exits 0, 0 pings lost; same subnet, VtepMAC and flannel.1', async () => {
      await underPing('SIGTERM + restart', async () => {
        const code = await n2.daemon!.stop('SIGTERM');
        assert.equal(code, 0, n2.daemon!.output());
        await restart();
      });
    });

    if (build.label === 'standalone') {
      it('upgrade: the standalone daemon replaced by the Node build\'s on the same node and state, then back: 0 lost', async () => {
        const other = builds().find((b) => b.label === 'node')!;
        await underPing('standalone → node build', async () => {
          await n2.daemon!.stop('SIGTERM');
          await restart(other.dir);
        });
        assert.match(n2.daemon!.output(), /reusing flannel\.1/);
        await underPing('node build → standalone', async () => {
          await n2.daemon!.stop('SIGTERM');
          await restart();
        });
      });
    }

    it('SIGTERM stops renewal at once: n2\'s key deleted right after SIGTERM is not re-created, and peers drop n2', async () => {
      const sub = leaseSubnet(n2);
      const key = `/coreos.com/network/subnets/${addressOf(sub)}-24`;
      assert.ok(c.leases()[key], `${key} present`);
      n2.daemon!.proc.kill('SIGTERM');
      // Deleted while the daemon is shutting down (its stop takes up to 2 s to close etcd).
      c.etcd.etcdctl(['del', key]);
      assert.equal(await n2.daemon!.exited, 0, n2.daemon!.output());
      await eventually(`n2's route gone on n1 after its key was deleted`, 5000, () => !routeTo(n1, sub));
      await sleep(3000);
      assert.equal(c.leases()[key], undefined, `${key} was re-created:\n${n2.daemon!.output()}`);
      assert.doesNotMatch(n2.daemon!.output(), /re-acquir/);
      // The next start takes the same subnet back (from its subnet.env) and the peers program it.
      await restart();
      assert.equal(leaseSubnet(n2), sub);
      await eventually('n2 programmed on n1 again', 5000, () => routeTo(n1, sub));
    });
  });
}
