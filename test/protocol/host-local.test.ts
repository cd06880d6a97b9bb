// host-local through the built executables: every spec version, requested IPs, duplicate ADD,
// DEL of unknown/legacy IDs, CHECK, GC, STATUS, 50 concurrent processes, and interop with the
// reference Go host-local sharing one data dir (one at a time, and 50 processes of both at once).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builds, runPlugin, runPluginAsync, tempDir } from '../helpers/plugins';
import { GC_GRACE_MS } from '../../shared/state/gc-grace';

const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const GO_HOST_LOCAL = '/usr/lib/cni/host-local';

function env(cmd: string, id: string, ifname = 'eth0'): Record<string, string> {
  return { CNI_COMMAND: cmd, CNI_CONTAINERID: id, CNI_NETNS: '/run/netns/unused', CNI_IFNAME: ifname, CNI_PATH: '/nonexistent' };
}

function ipamConf(dataDir: string, v: string, ipam: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ cniVersion: v, name: 'mynet', type: 'host-local', ipam: { type: 'host-local', dataDir, ...ipam }, ...extra });
}

const reservations = (dir: string): string[] =>
  fs.existsSync(path.join(dir, 'mynet')) ? fs.readdirSync(path.join(dir, 'mynet')).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')).sort() : [];

for (const b of builds()) {
  describe(`host-local protocol (${b.label} build)`, () => {
    const tmp = tempDir('hl');
    after(() => tmp.cleanup());
    let n = 0;
    const fresh = (): string => path.join(tmp.path, `d${n++}`);

    for (const v of VERSIONS) {
      it(`${v}: ADD, CHECK, DEL with one v4 range`, () => {
        const dir = fresh();
        const c = ipamConf(dir, v, { subnet: '10.1.2.0/24' });
        const r = runPlugin(b.dir, 'host-local', env('ADD', 'dummy'), c);
        assert.equal(r.code, 0, r.stdout);
        assert.equal(r.json.cniVersion, v);
        if (v === '0.1.0' || v === '0.2.0') assert.deepEqual(r.json.ip4, { ip: '10.1.2.2/24', gateway: '10.1.2.1' });
        else {
          const want: Record<string, string> = { address: '10.1.2.2/24', gateway: '10.1.2.1' };
          if (v.startsWith('0.')) want.version = '4';
          assert.deepEqual(r.json.ips, [want]);
        }
        assert.equal(fs.readFileSync(path.join(dir, 'mynet', '10.1.2.2'), 'utf8'), 'dummy\r\neth0');
        if (v === '0.4.0' || v.startsWith('1.')) assert.equal(runPlugin(b.dir, 'host-local', env('CHECK', 'dummy'), c).code, 0);
        assert.equal(runPlugin(b.dir, 'host-local', env('DEL', 'dummy'), c).code, 0);
        assert.deepEqual(reservations(dir), []);
        assert.equal(runPlugin(b.dir, 'host-local', env('DEL', 'dummy'), c).code, 0, 'DEL is idempotent');
      });
    }

    for (const v of ['0.1.0', '0.2.0']) {
      it(`${v}: two v4 addresses are refused, one v4 + one v6 allowed`, () => {
        const dir = fresh();
        const two = ipamConf(dir, v, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.2.2.0/24' }]] });
        const r = runPlugin(b.dir, 'host-local', env('ADD', 'x'), two);
        assert.equal(r.code, 1);
        assert.match(r.json.msg, new RegExp(`CNI version ${v.replace(/\./g, '\\.')} does not support more than 1 address per family`));
        assert.deepEqual(reservations(dir), []);
        const dual = ipamConf(dir, v, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '2001:db8:1::/64' }]] });
        const ok = runPlugin(b.dir, 'host-local', env('ADD', 'x'), dual);
        assert.equal(ok.code, 0, ok.stdout);
        assert.equal(ok.json.ip6.ip, '2001:db8:1::2/64');
      });
    }

    it('dual-stack with two range sets, routes and files named canonically', () => {
      const dir = fresh();
      const c = ipamConf(dir, '1.1.0', {
        ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.2.2.0/24' }], [{ subnet: '2001:db8:1::/64' }]],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
      });
      const r = runPlugin(b.dir, 'host-local', env('ADD', 'dummy'), c);
      assert.equal(r.code, 0, r.stdout);
      assert.deepEqual(r.json.ips, [{ address: '10.1.2.2/24', gateway: '10.1.2.1' }, { address: '2001:db8:1::2/64', gateway: '2001:db8:1::1' }]);
      assert.deepEqual(r.json.routes, [{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
      assert.deepEqual(reservations(dir), ['10.1.2.2', '2001:db8:1::2']);
      assert.equal(fs.readFileSync(path.join(dir, 'mynet', 'last_reserved_ip.1'), 'utf8'), '2001:db8:1::2');
    });

    it('requested IP via CNI_ARGS, and a duplicate ADD is rejected', () => {
      const dir = fresh();
      const c = ipamConf(dir, '1.0.0', { subnet: '10.1.2.0/24' });
      const r = runPlugin(b.dir, 'host-local', { ...env('ADD', 'req'), CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.1.2.10' }, c);
      assert.equal(r.code, 0, r.stdout);
      assert.equal(r.json.ips[0].address, '10.1.2.10/24');
      const again = runPlugin(b.dir, 'host-local', env('ADD', 'dup'), c);
      assert.equal(again.code, 0);
      const dup = runPlugin(b.dir, 'host-local', env('ADD', 'dup'), c);
      assert.equal(dup.code, 1);
      assert.match(dup.json.msg, /has been allocated to dup, duplicate allocation is not allowed/);
    });

    it('DEL of an unknown ID succeeds; a legacy id-only file is released', () => {
      const dir = fresh();
      const c = ipamConf(dir, '1.0.0', { subnet: '10.1.2.0/24' });
      assert.equal(runPlugin(b.dir, 'host-local', env('DEL', 'nobody'), c).code, 0);
      fs.mkdirSync(path.join(dir, 'mynet'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'mynet', '10.1.2.50'), 'legacy');
      assert.equal(runPlugin(b.dir, 'host-local', env('DEL', 'legacy'), c).code, 0);
      assert.deepEqual(reservations(dir), []);
    });

    it('CHECK fails for a container without an address', () => {
      const dir = fresh();
      const r = runPlugin(b.dir, 'host-local', env('CHECK', 'ghost'), ipamConf(dir, '1.0.0', { subnet: '10.1.2.0/24' }));
      assert.equal(r.code, 1);
      assert.match(r.json.msg, /host-local: Failed to find address added by container ghost/);
    });

    /** Every file of the network dir `ms` into the past (mtime): reservations made that long ago. */
    const age = (dir: string, ms: number): void => {
      const when = new Date(Date.now() - ms);
      for (const f of fs.readdirSync(path.join(dir, 'mynet'))) fs.utimesSync(path.join(dir, 'mynet', f), when, when);
    };

    it('GC keeps valid attachments and releases the rest; an empty list releases all', () => {
      const dir = fresh();
      const c = ipamConf(dir, '1.1.0', { subnet: '10.1.2.0/24' });
      for (const id of ['a', 'b', 'c']) assert.equal(runPlugin(b.dir, 'host-local', env('ADD', id), c).code, 0);
      age(dir, GC_GRACE_MS + 1000);
      const gc = (valid: unknown[], key = 'cni.dev/valid-attachments'): number =>
        runPlugin(b.dir, 'host-local', { CNI_COMMAND: 'GC', CNI_PATH: '/nonexistent' }, ipamConf(dir, '1.1.0', { subnet: '10.1.2.0/24' }, { [key]: valid })).code;
      assert.equal(gc([{ containerID: 'a', ifname: 'eth0' }, { containerID: 'b', ifname: 'eth0' }]), 0);
      assert.deepEqual(reservations(dir), ['10.1.2.2', '10.1.2.3']);
      assert.equal(gc([{ containerID: 'a', ifname: 'eth0' }], 'cni.dev/attachments'), 0);
      assert.deepEqual(reservations(dir), ['10.1.2.2']);
      assert.ok(fs.existsSync(path.join(dir, 'mynet', 'last_reserved_ip.0')));
      assert.equal(gc([]), 0);
      assert.deepEqual(reservations(dir), []);
      assert.ok(fs.existsSync(path.join(dir, 'mynet', 'lock')));
    });

    it('GC issued while an ADD is in flight (reserved, not yet known to the runtime) keeps its address; past the grace it goes', () => {
      const dir = fresh();
      const c = ipamConf(dir, '1.1.0', { subnet: '10.1.2.0/24' });
      const gcNothingValid = (extra: Record<string, unknown>): void => {
        const r = runPlugin(b.dir, 'host-local', { CNI_COMMAND: 'GC', CNI_PATH: '/nonexistent' }, ipamConf(dir, '1.1.0', { subnet: '10.1.2.0/24' }, extra));
        assert.equal(r.code, 0, r.stdout);
      };
      assert.equal(runPlugin(b.dir, 'host-local', env('ADD', 'inflight'), c).code, 0);
      gcNothingValid({ 'cni.dev/valid-attachments': [] });
      assert.deepEqual(reservations(dir), ['10.1.2.2']);
      // The next pod gets another address, not the in-flight one.
      const next = runPlugin(b.dir, 'host-local', env('ADD', 'next'), c);
      assert.equal(next.json.ips[0].address, '10.1.2.3/24');
      age(dir, GC_GRACE_MS - 5000);
      gcNothingValid({ 'cni.dev/valid-attachments': [], 'cni.dev/attachments': [] });
      assert.deepEqual(reservations(dir), ['10.1.2.2', '10.1.2.3']);
      age(dir, GC_GRACE_MS + 1000);
      gcNothingValid({}); // absent: none is valid
      assert.deepEqual(reservations(dir), []);
    });

    it('STATUS: ready with a usable data dir, error naming the path otherwise', () => {
      const dir = fresh();
      assert.equal(runPlugin(b.dir, 'host-local', { CNI_COMMAND: 'STATUS', CNI_PATH: '/x' }, ipamConf(dir, '1.1.0', { subnet: '10.1.2.0/24' })).code, 0);
      const blocker = path.join(tmp.path, 'not-a-dir');
      fs.writeFileSync(blocker, '');
      const r = runPlugin(b.dir, 'host-local', { CNI_COMMAND: 'STATUS', CNI_PATH: '/x' }, ipamConf(blocker, '1.1.0', { subnet: '10.1.2.0/24' }));
      assert.equal(r.code, 1);
      assert.ok(r.json.msg.includes(blocker), r.json.msg);
    });

    it('exhaustion gives the reference message and changes nothing', () => {
      const dir = fresh();
      const c = ipamConf(dir, '1.0.0', { subnet: '10.1.2.0/30' });
      assert.equal(runPlugin(b.dir, 'host-local', env('ADD', 'one'), c).code, 0);
      const before = reservations(dir);
      const r = runPlugin(b.dir, 'host-local', env('ADD', 'two'), c);
      assert.equal(r.code, 1);
      assert.match(r.json.msg, /no IP addresses available in range set: 10\.1\.2\.1-10\.1\.2\.2/);
      assert.deepEqual(reservations(dir), before);
    });

    const rounds = b.label === 'standalone' ? 10 : 3;
    it(`50 concurrent ADDs get 50 distinct addresses, 50 concurrent DELs release them (${rounds} rounds)`, async () => {
      const dir = fresh();
      const c = ipamConf(dir, '1.0.0', { subnet: '10.3.0.0/24' });
      for (let round = 0; round < rounds; round++) {
        const adds = await Promise.all(Array.from({ length: 50 }, (_, i) => runPluginAsync(b.dir, 'host-local', env('ADD', `c${i}`), c)));
        for (const r of adds) assert.equal(r.code, 0, r.stdout + r.stderr);
        const ips = new Set(adds.map((r) => r.json.ips[0].address));
        assert.equal(ips.size, 50, `round ${round}: distinct addresses`);
        assert.equal(reservations(dir).length, 50);
        const dels = await Promise.all(Array.from({ length: 50 }, (_, i) => runPluginAsync(b.dir, 'host-local', env('DEL', `c${i}`), c)));
        for (const r of dels) assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.deepEqual(reservations(dir), [], `round ${round}: all released`);
      }
    });

    it('interop with the reference Go host-local in one data dir', () => {
      assert.ok(fs.existsSync(GO_HOST_LOCAL), `${GO_HOST_LOCAL} missing: install containernetworking-plugins (bash scripts/install-deps.sh)`);
      const dir = fresh();
      const c = ipamConf(dir, '0.4.0', { subnet: '10.4.0.0/24' });
      const goDir = path.dirname(GO_HOST_LOCAL);
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const useGo = i % 2 === 1;
        const r = runPlugin(useGo ? goDir : b.dir, 'host-local', env('ADD', `x${i}`), c);
        assert.equal(r.code, 0, `${useGo ? 'go' : 'ours'}: ${r.stdout}`);
        const ip = r.json.ips[0].address;
        assert.ok(!seen.has(ip), `duplicate ${ip}`);
        seen.add(ip);
      }
      assert.equal(reservations(dir).length, 6);
      // Each deletes what the other allocated.
      for (let i = 0; i < 6; i++) {
        const useGo = i % 2 === 0;
        assert.equal(runPlugin(useGo ? goDir : b.dir, 'host-local', env('DEL', `x${i}`), c).code, 0);
      }
      assert.deepEqual(reservations(dir), []);
    });

    it('ours and the Go host-local allocate concurrently from one data dir: 50 processes, mixed; mixed DELs empty it', async () => {
      assert.ok(fs.existsSync(GO_HOST_LOCAL), `${GO_HOST_LOCAL} missing: apt-get install containernetworking-plugins`);
      const dir = fresh();
      const c = ipamConf(dir, '0.4.0', { subnet: '10.5.0.0/24' });
      const goDir = path.dirname(GO_HOST_LOCAL);
      const impl = (i: number, del: boolean): string => ((i % 2 === 1) !== del ? goDir : b.dir);
      for (let round = 0; round < 2; round++) {
        // All 50 started before any is awaited: both implementations contend for the one lock.
        const adds = await Promise.all(Array.from({ length: 50 }, (_, i) => runPluginAsync(impl(i, false), 'host-local', env('ADD', `m${i}`), c)));
        adds.forEach((r, i) => assert.equal(r.code, 0, `${impl(i, false) === goDir ? 'go' : 'ours'} ADD m${i}: ${r.stdout}${r.stderr}`));
        const ips = adds.map((r) => r.json.ips[0].address as string);
        assert.equal(new Set(ips).size, 50, `round ${round}: 50 distinct addresses (${ips.join(' ')})`);
        assert.equal(reservations(dir).length, 50);
        // Every reservation names the container that got that address, whichever wrote it.
        adds.forEach((r, i) => {
          const ip = (r.json.ips[0].address as string).split('/')[0]!;
          assert.equal(fs.readFileSync(path.join(dir, 'mynet', ip), 'utf8').split('\r\n')[0], `m${i}`);
        });
        // Each DEL by the other implementation than the one that allocated, all at once.
        const dels = await Promise.all(Array.from({ length: 50 }, (_, i) => runPluginAsync(impl(i, true), 'host-local', env('DEL', `m${i}`), c)));
        dels.forEach((r, i) => assert.equal(r.code, 0, `DEL m${i}: ${r.stdout}${r.stderr}`));
        assert.deepEqual(fs.readdirSync(path.join(dir, 'mynet')).sort(), ['last_reserved_ip.0', 'lock'], `round ${round}: nothing but the lock and the hint left`);
      }
    });
  });
}
