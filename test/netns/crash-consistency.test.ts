// Crash consistency (issue 9): state files as a crash, a power cut or a full/broken disk leaves
// them, met by the flannel chain running in a throw-away node namespace.
// - flannel scratch file zero-byte or truncated (power loss before fsync, flannel#1662): DEL
//   rebuilds the delegate config and still removes the veth, the address and the rules
//   (docs/compatibility.md), with or without subnet.env; a temp file of an interrupted save is
//   removed by DEL too.
// - host-local `last_reserved_ip.0` garbage, outside the range, empty, pointing at reserved
//   addresses: only a round-robin hint, ADD still allocates a valid free address.
// - host-local reservation files zero-byte (a writer killed between create and write) or
//   garbage: never handed out twice; a zero-byte one is an orphan (reservations are created and
//   written under the lock) that ADD may reuse and DEL removes.
// - state dirs on a read-only filesystem (a bind mount made read-only in a private mount
//   namespace, so the host mount table never sees it): ADD fails with a CNI error naming the
//   path and leaves nothing on the node; DEL fails the same way where something must be
//   released (the reference's host-local fails opening its lock file too), and succeeds once
//   the filesystem is writable again. Never a stack trace on stdout.
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizedSnapshot } from '../helpers/kill-trials';
import { cleanupAllNetns, ipIn, makeNetns, type TestNetns } from '../helpers/netns';
import { builds, parseRun, tempDir, type Run } from '../helpers/plugins';
import { shStatus } from '../helpers/sh';

const ROOT = process.getuid?.() === 0;

/** `ip netns exec`, optionally inside a private mount namespace where `ro` dirs are read-only. */
function runInNode(node: string, file: string, env: Record<string, string>, stdin: string, ro: string[] = []): Run {
  const inner = ['ip', 'netns', 'exec', node, file];
  const [cmd, args] =
    ro.length === 0
      ? [inner[0]!, inner.slice(1)]
      : [
          'unshare',
          [
            '-m', '--propagation', 'private', 'sh', '-c',
            'for d in $CTS_RO; do mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" || exit 97; done; exec "$@"',
            'sh', ...inner,
          ],
        ];
  const r = spawnSync(cmd, args, {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env, ...(ro.length ? { CTS_RO: ro.join(' ') } : {}) },
    input: stdin,
  });
  if (r.error) throw r.error;
  assert.notEqual(r.status, 97, `could not make ${ro.join(' ')} read-only: ${r.stderr}`);
  return parseRun(r.status, r.stdout.toString(), r.stderr.toString());
}

/** A CNI error on stdout: one JSON object, no stack trace; its msg(+details) must match every pattern. */
function assertCniError(r: Run, ...res: RegExp[]): void {
  assert.notEqual(r.code, 0, `expected a failure, got ${r.stdout}`);
  assert.ok(r.json && typeof r.json.code === 'number' && typeof r.json.msg === 'string', `stdout is not a CNI error: ${r.stdout}`);
  assert.doesNotMatch(r.stdout, /\n\s+at \S+ \(|\bat Object\.|node:internal/, 'stack trace on stdout');
  for (const re of res) assert.match(`${r.json.msg}${r.json.details ? `: ${r.json.details}` : ''}`, re);
}

for (const build of builds()) {
  describe(`crash consistency: flannel chain on damaged state (${build.label} build)`, { skip: !ROOT && 'needs root' }, () => {
    const tmp = tempDir(`crash-${build.label}`);
    const subnet = build.label === 'standalone' ? 210 : 211;
    const prefix = `10.244.${subnet}.`;
    const flannelDir = path.join(tmp.path, 'flannel');
    const networksDir = path.join(tmp.path, 'networks');
    const netDir = path.join(networksDir, 'cbr0');
    const lastIP = path.join(netDir, 'last_reserved_ip.0');
    const subnetFile = path.join(tmp.path, 'subnet.env');
    const stateDirs = [flannelDir, networksDir];
    let node: TestNetns;
    let baseline = '';
    let seq = 0;

    const flannelConf = (extra: Record<string, unknown> = {}): string =>
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'cbr0',
        type: 'flannel',
        subnetFile,
        dataDir: flannelDir,
        ipam: { dataDir: networksDir },
        delegate: { hairpinMode: true, isDefaultGateway: true },
        ...extra,
      });

    interface Pod {
      cid: string;
      ns: TestNetns;
    }
    const newPod = (): Pod => ({ cid: `crash${process.pid}${build.label[0]}${++seq}`, ns: makeNetns(`cc${build.label[0]}`) });

    const call = (command: string, pod: Pod, opts: { ro?: string[]; conf?: string } = {}): Run =>
      runInNode(
        node.name,
        path.join(build.dir, 'flannel'),
        { CNI_COMMAND: command, CNI_CONTAINERID: pod.cid, CNI_NETNS: pod.ns.path, CNI_IFNAME: 'eth0', CNI_PATH: build.dir },
        opts.conf ?? flannelConf(),
        opts.ro,
      );
    const add = (pod: Pod): string => {
      const r = call('ADD', pod);
      assert.equal(r.code, 0, `ADD failed: ${r.stdout} ${r.stderr}`);
      const ip = String(r.json.ips[0].address);
      assert.match(ip, new RegExp(`^${prefix.replace(/\./g, '\\.')}\\d+/24$`));
      return ip.split('/')[0]!;
    };
    const del = (pod: Pod, opts: { ro?: string[] } = {}): Run => call('DEL', pod, opts);
    const mustDel = (pod: Pod): void => {
      const r = del(pod);
      assert.equal(r.code, 0, `DEL failed: ${r.stdout} ${r.stderr}`);
    };
    const snapshot = (): string => normalizedSnapshot(node.name, stateDirs);
    /** The snapshot without the state files (kernel objects only). */
    const kernelOnly = (s: string): string => s.split(/^(?=## files )/m)[0]!;
    const scratchOf = (pod: Pod): string => path.join(flannelDir, pod.cid);
    const reservationOf = (ip: string): string => path.join(netDir, ip);
    const hasEth0 = (pod: Pod): boolean => shStatus('ip', ['-n', pod.ns.name, 'link', 'show', 'eth0']).code === 0;
    const masqRules = (pod: Pod): string[] =>
      shStatus('ip', ['netns', 'exec', node.name, 'iptables-save', '-t', 'nat']).out.split('\n').filter((l) => l.includes(pod.cid));

    before(() => {
      node = makeNetns(`cn${build.label[0]}`);
      ipIn(node.name, ['link', 'set', 'lo', 'up']);
      // FLANNEL_IPMASQ=false: the bridge masquerades, so each pod also has rules to leak.
      fs.writeFileSync(subnetFile, `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${prefix}1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
      const warm = newPod();
      add(warm);
      mustDel(warm);
      warm.ns.cleanup();
    });

    // Each test compares the node with how it found it, so one leak fails one test.
    beforeEach(() => {
      baseline = snapshot();
    });

    after(() => {
      try {
        cleanupAllNetns();
      } finally {
        tmp.cleanup();
      }
    });

    describe('flannel scratch file', () => {
      for (const [what, damage] of [
        ['zero-byte', (b: Buffer) => b.subarray(0, 0)],
        ['truncated to a JSON prefix', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
        ['truncated to one byte', (b: Buffer) => b.subarray(0, 1)],
      ] as const) {
        it(`${what}: DEL rebuilds the delegate config and removes veth, address, rules and the file`, () => {
          const pod = newPod();
          const ip = add(pod);
          assert.ok(masqRules(pod).length > 0, 'the pod has no ipMasq rules to check');
          fs.writeFileSync(scratchOf(pod), damage(fs.readFileSync(scratchOf(pod))));
          const r = del(pod);
          assert.equal(r.code, 0, `DEL failed: ${r.stdout} ${r.stderr}`);
          assert.match(r.stderr, /is unusable/, 'no diagnostic on stderr');
          assert.ok(!hasEth0(pod), 'container interface left');
          assert.ok(!fs.existsSync(reservationOf(ip)), 'address left reserved');
          assert.deepEqual(masqRules(pod), [], 'ipMasq rules left');
          assert.equal(snapshot(), baseline);
          pod.ns.cleanup();
        });
      }

      it('truncated and subnet.env gone: DEL with the minimal delegate still removes everything', () => {
        const pod = newPod();
        const ip = add(pod);
        fs.writeFileSync(scratchOf(pod), fs.readFileSync(scratchOf(pod)).subarray(0, 20));
        fs.renameSync(subnetFile, `${subnetFile}.away`);
        try {
          const r = del(pod);
          assert.equal(r.code, 0, `DEL failed: ${r.stdout} ${r.stderr}`);
        } finally {
          fs.renameSync(`${subnetFile}.away`, subnetFile);
        }
        assert.ok(!hasEth0(pod), 'container interface left');
        assert.ok(!fs.existsSync(reservationOf(ip)), 'address left reserved');
        assert.deepEqual(masqRules(pod), [], 'ipMasq rules left');
        assert.equal(snapshot(), baseline);
        pod.ns.cleanup();
      });

      it('only the temp file of an interrupted save (ADD killed before the rename): DEL succeeds and removes it', () => {
        const pod = newPod();
        fs.writeFileSync(path.join(flannelDir, `${pod.cid}.tmp-12345-0badf00d`), '{"cniVersion":"1.0.0","na');
        mustDel(pod);
        assert.equal(snapshot(), baseline);
        pod.ns.cleanup();
      });
    });

    describe('host-local last_reserved_ip.0', () => {
      const cases: Array<[string, string]> = [
        ['garbage', 'this is not an address\n\0\xff'],
        ['an address outside the range', '10.9.9.9'],
        ['empty', ''],
        ['an IPv6 address', 'fd00::5'],
        ['the network address', `${prefix}0`],
        ['the gateway', `${prefix}1`],
        ['the broadcast address', `${prefix}255`],
        ['the last usable address', `${prefix}254`],
        ['an address already reserved', '<held>'],
        ['1 MiB of digits', '1'.repeat(1 << 20)],
      ];
      for (const [what, content] of cases) {
        it(`${what}: ADD allocates a valid free address`, () => {
          const holder = newPod();
          const held = add(holder);
          fs.writeFileSync(lastIP, content === '<held>' ? held : content);
          const pod = newPod();
          const ip = add(pod);
          const last = Number(ip.split('.')[3]);
          assert.ok(last >= 2 && last <= 254, `${ip} is not a usable host address of ${prefix}0/24`);
          assert.notEqual(ip, held, 'handed out an address that is reserved');
          assert.equal(fs.readFileSync(reservationOf(ip), 'utf8'), `${pod.cid}\r\neth0`);
          assert.equal(fs.readFileSync(lastIP, 'utf8'), ip, 'the hint was not rewritten');
          mustDel(pod);
          mustDel(holder);
          assert.equal(snapshot(), baseline);
          pod.ns.cleanup();
          holder.ns.cleanup();
        });
      }
    });

    describe('host-local reservation files', () => {
      it('garbage content: the address is not handed out, DEL of others leaves it alone', () => {
        const garbage = reservationOf(`${prefix}2`);
        fs.writeFileSync(garbage, Buffer.from([0, 0xff, 0x13, 0x37, 0x0a, 0x0d]));
        fs.writeFileSync(lastIP, `${prefix}1`); // the walk starts at .2
        try {
          const pod = newPod();
          const ip = add(pod);
          assert.notEqual(ip, `${prefix}2`);
          mustDel(pod);
          assert.ok(fs.existsSync(garbage), 'DEL of another container removed a reservation it does not own');
          pod.ns.cleanup();
        } finally {
          fs.rmSync(garbage, { force: true });
        }
        assert.equal(snapshot(), baseline);
      });

      it('zero-byte (writer killed between create and write): ADD may reuse it, never twice; DEL leaves no orphan', () => {
        const orphan = reservationOf(`${prefix}2`);
        fs.writeFileSync(orphan, '');
        fs.writeFileSync(lastIP, `${prefix}1`);
        const a = newPod();
        const b = newPod();
        const ipA = add(a);
        const ipB = add(b);
        assert.notEqual(ipA, ipB);
        for (const [pod, ip] of [[a, ipA], [b, ipB]] as const) {
          assert.equal(fs.readFileSync(reservationOf(ip), 'utf8'), `${pod.cid}\r\neth0`);
        }
        mustDel(a);
        mustDel(b);
        a.ns.cleanup();
        b.ns.cleanup();
        assert.equal(snapshot(), baseline);
      });

      it('a temp file of an interrupted last_reserved_ip.0 write: ADD unaffected, DEL removes it', () => {
        fs.writeFileSync(`${lastIP}.tmp-12345-0badf00d`, `${prefix}9`);
        const pod = newPod();
        add(pod);
        mustDel(pod);
        assert.ok(!fs.existsSync(`${lastIP}.tmp-12345-0badf00d`));
        assert.equal(snapshot(), baseline);
        pod.ns.cleanup();
      });

      it('a pod whose own reservation file was truncated to zero bytes: DEL succeeds and leaves no orphan', () => {
        const pod = newPod();
        const ip = add(pod);
        fs.writeFileSync(reservationOf(ip), '');
        mustDel(pod);
        assert.ok(!hasEth0(pod));
        assert.equal(snapshot(), baseline);
        pod.ns.cleanup();
      });
    });

    describe('read-only state directories (private mount namespace)', () => {
      it('flannel dataDir read-only: ADD fails naming the path, nothing is created; DEL succeeds', () => {
        const pod = newPod();
        const r = call('ADD', pod, { ro: [flannelDir] });
        assertCniError(r, /failed to save delegate config/, new RegExp(`${scratchOf(pod)}(?![\\w.-])`), /EROFS|read-only/);
        assert.ok(!hasEth0(pod));
        assert.equal(snapshot(), baseline);
        // The runtime's DEL after the failed ADD (state still read-only): nothing to undo.
        const d = del(pod, { ro: [flannelDir] });
        assert.equal(d.code, 0, `DEL failed: ${d.stdout}`);
        assert.equal(snapshot(), baseline);
        pod.ns.cleanup();
      });

      it('flannel dataDir not made yet, its parent read-only: ADD fails with the real reason (not ENOENT)', () => {
        const parent = path.join(tmp.path, 'ro-parent');
        fs.mkdirSync(parent);
        const conf = flannelConf({ dataDir: path.join(parent, 'flannel') });
        const pod = newPod();
        const r = call('ADD', pod, { ro: [parent], conf });
        assertCniError(r, /failed to save delegate config/, new RegExp(`${parent}/flannel(?![\\w.-])`), /EROFS|read-only/);
        assert.ok(!hasEth0(pod));
        assert.equal(call('DEL', pod, { ro: [parent], conf }).code, 0);
        assert.deepEqual(fs.readdirSync(parent), []);
        fs.rmdirSync(parent);
        assert.equal(snapshot(), baseline);
        pod.ns.cleanup();
      });

      it('host-local dataDir read-only: ADD fails naming the lock file and rolls back; DEL needs the lock too', () => {
        const pod = newPod();
        const r = call('ADD', pod, { ro: [networksDir] });
        assertCniError(r, new RegExp(`${netDir}/lock(?![\\w.-])`), /EROFS|read-only/);
        assert.ok(!hasEth0(pod));
        // The veth is rolled back; only flannel's scratch file stays, for the runtime's DEL.
        const s = snapshot();
        assert.equal(kernelOnly(s), kernelOnly(baseline));
        assert.ok(fs.existsSync(scratchOf(pod)));
        // DEL with the state still read-only cannot take the lock: a clear error, like the
        // reference (its lock file is opened O_RDWR|O_CREATE too); the scratch file is kept so
        // the retry reaches host-local again.
        const d = del(pod, { ro: [networksDir] });
        assertCniError(d, new RegExp(`${netDir}/lock(?![\\w.-])`), /EROFS|read-only/);
        assert.ok(fs.existsSync(scratchOf(pod)));
        mustDel(pod);
        assert.equal(snapshot(), baseline);
        pod.ns.cleanup();
      });

      it('host-local dataDir read-only before the network dir exists: ADD fails naming the dir', () => {
        const fresh = path.join(tmp.path, 'networks-fresh');
        fs.mkdirSync(fresh);
        const conf = flannelConf({ ipam: { dataDir: fresh } });
        const pod = newPod();
        const r = call('ADD', pod, { ro: [fresh], conf });
        assertCniError(r, new RegExp(`${path.join(fresh, 'cbr0')}(?![\\w.-])`), /EROFS|read-only/);
        assert.ok(!hasEth0(pod));
        assert.equal(kernelOnly(snapshot()), kernelOnly(baseline));
        // Nothing was ever allocated there: DEL succeeds even while it is read-only.
        const d = call('DEL', pod, { ro: [fresh], conf });
        assert.equal(d.code, 0, `DEL failed: ${d.stdout}`);
        assert.deepEqual(fs.readdirSync(fresh), []);
        fs.rmdirSync(fresh);
        assert.equal(snapshot(), baseline);
        pod.ns.cleanup();
      });

      it('all state read-only at DEL of a running pod: clear error, retry succeeds once writable', () => {
        const pod = newPod();
        const ip = add(pod);
        const d = del(pod, { ro: [flannelDir, networksDir] });
        assertCniError(d, new RegExp(`${netDir}/lock(?![\\w.-])`), /EROFS|read-only/);
        // What could be undone was (bridge DEL tries every step); the address and the scratch
        // file, which cannot be released on a read-only filesystem, are still there for the retry.
        assert.ok(!hasEth0(pod));
        assert.ok(fs.existsSync(reservationOf(ip)));
        assert.ok(fs.existsSync(scratchOf(pod)));
        mustDel(pod);
        assert.equal(snapshot(), baseline);
        pod.ns.cleanup();
      });

      it('flannel dataDir read-only at DEL: the delegate cleans up, removing the scratch file fails clearly; retry succeeds', () => {
        const pod = newPod();
        const ip = add(pod);
        const d = del(pod, { ro: [flannelDir] });
        assertCniError(d, new RegExp(`${scratchOf(pod)}(?![\\w.-])`), /EROFS|read-only/);
        assert.ok(!hasEth0(pod));
        assert.ok(!fs.existsSync(reservationOf(ip)));
        assert.deepEqual(masqRules(pod), []);
        mustDel(pod);
        assert.equal(snapshot(), baseline);
        pod.ns.cleanup();
      });

      it('the read-only mounts never reached the host mount table', () => {
        const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
        assert.ok(!mounts.includes(tmp.path), `a test mount leaked:\n${mounts.split('\n').filter((l) => l.includes(tmp.path)).join('\n')}`);
      });
    });
  });
}
