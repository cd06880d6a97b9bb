// A node whose TMPDIR is mounted noexec (CIS-hardened /tmp), or does not exist. The standalone
// build's embedded addon is unpacked by Bun into $TMPDIR and dlopen()ed from there, which the
// kernel refuses on a noexec mount ("failed to map segment from shared object"); the plugins must
// then load it from a memfd (shared/native/memfd-load.ts) and work as usual. The noexec mount is a
// bind mount made in a private mount namespace, so the host mount table never sees it, while
// files Bun writes there stay visible to the test (proof that the fallback, not Bun's own path,
// loaded the addon).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizedSnapshot } from '../helpers/kill-trials';
import { mountsUnder } from '../helpers/mountinfo';
import { cleanupAllNetns, ipJson } from '../helpers/netns';
import { builds, parseRun, runPlugin, tempDir, type Run } from '../helpers/plugins';
import { makePodNode } from '../helpers/pod-node';

const ROOT = process.getuid?.() === 0;

after(() => cleanupAllNetns());

/**
 * `ip netns exec node plugin` inside a private mount namespace where `dir` is noexec, TMPDIR=dir.
 * With `memfdNoexec`, also in a private pid namespace whose vm.memfd_noexec (a per-pid-namespace
 * sysctl, Linux >= 6.3) is set to it, so the host's value never changes.
 */
function runWithNoexecTmp(node: string, file: string, dir: string, env: Record<string, string>, stdin: string, memfdNoexec?: number): Run {
  const r = spawnSync(
    'unshare',
    [
      ...(memfdNoexec === undefined ? [] : ['-p', '-f']),
      '-m', '--propagation', 'private', 'sh', '-c',
      (memfdNoexec === undefined ? '' : `echo ${memfdNoexec} > /proc/sys/vm/memfd_noexec || exit 96; `) +
      // Prove the mount really is noexec before running anything: a copied `true` must not run.
      'mount --bind "$TMPDIR" "$TMPDIR" && mount -o remount,bind,noexec "$TMPDIR" || exit 97; ' +
        'cp /bin/true "$TMPDIR/t" && "$TMPDIR/t" 2>/dev/null && exit 98; rm -f "$TMPDIR/t"; exec "$@"',
      'sh', 'ip', 'netns', 'exec', node, file,
    ],
    { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', TMPDIR: dir, CNI_TS_DEBUG: '1', ...env }, input: stdin },
  );
  if (r.error) throw r.error;
  assert.notEqual(r.status, 96, `could not set vm.memfd_noexec=${memfdNoexec}: ${r.stderr}`);
  assert.notEqual(r.status, 97, `could not make ${dir} noexec: ${r.stderr}`);
  assert.notEqual(r.status, 98, `${dir} still allows exec after remount,noexec`);
  return parseRun(r.status, r.stdout.toString(), r.stderr.toString());
}

const MEMFD_SYSCTL = '/proc/sys/vm/memfd_noexec';

for (const build of builds()) {
  // vm.memfd_noexec=2 is the strictest setting; the memfd is only mapped, never exec'd.
  const variants: (number | undefined)[] = build.label === 'standalone' && fs.existsSync(MEMFD_SYSCTL) ? [undefined, 2] : [undefined];
  describe(`TMPDIR on a noexec filesystem (${build.label} build)`, { skip: !ROOT && 'needs root' }, () => {
    for (const memfdNoexec of variants) {
      const how = memfdNoexec === undefined ? '' : ` (vm.memfd_noexec=${memfdNoexec} in the plugin's pid namespace)`;
      it(`flannel ADD, CHECK and DEL work and leave the node as it was${how}`, () => {
        const pod = makePodNode(`nx${build.label[0]}${memfdNoexec ?? ''}`);
        const tmp = tempDir(`noexec-${build.label}`);
        try {
          const stateDirs = [path.join(pod.state, 'networks'), path.join(pod.state, 'flannel')];
          // Learned (non-permanent) FDB entries come and go with the other pod's traffic.
          const snapshot = (): string =>
            normalizedSnapshot(pod.ns, stateDirs).split('\n').filter((l) => !/ dev \S+ master cni0$/.test(l)).join('\n');
          const conf = JSON.stringify({
            cniVersion: '1.0.0', name: 'cbr0', type: 'flannel',
            subnetFile: path.join(pod.state, 'subnet.env'), dataDir: path.join(pod.state, 'flannel'),
            ipam: { dataDir: path.join(pod.state, 'networks') },
          });
          const call = (command: string, stdin: string): Run =>
            runWithNoexecTmp(pod.ns, path.join(build.dir, 'flannel'), tmp.path, {
              CNI_COMMAND: command, CNI_CONTAINERID: `noexec${build.label}`, CNI_NETNS: pod.container, CNI_IFNAME: 'eth0', CNI_PATH: build.dir,
            }, stdin, memfdNoexec);

          // A warm-up pod run the usual way makes what the first pod leaves by design (the
          // network's ipMasq chains, the round-robin hint), so the snapshot compares one pod only.
          for (const command of ['ADD', 'DEL']) {
            const r = runPlugin(build.dir, 'flannel', {
              CNI_COMMAND: command, CNI_CONTAINERID: 'warmup', CNI_NETNS: pod.container, CNI_IFNAME: 'eth0', CNI_PATH: build.dir,
            }, conf, pod.ns);
            assert.equal(r.code, 0, `warm-up ${command} failed: ${r.stdout} ${r.stderr}`);
          }
          const before = snapshot();
          const add = call('ADD', conf);
          assert.equal(add.code, 0, `ADD failed: ${add.stdout} ${add.stderr}`);
          const ip = String(add.json.ips[0].address);
          assert.match(ip, /^10\.244\.1\.\d+\/24$/);
          const eth0 = ipJson(pod.containerName, ['addr', 'show', 'dev', 'eth0'])[0];
          assert.ok(eth0.addr_info.some((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}` === ip), `eth0 lacks ${ip}`);

          if (build.label === 'standalone') {
            // Bun tried its own route first (the file it unpacked is there) and the memfd took over.
            assert.ok(fs.readdirSync(tmp.path).some((f) => /^\.bun-.*\.node$/.test(f)), 'Bun did not unpack the addon into TMPDIR');
            assert.match(add.stderr, /native addon: loaded from a memfd/);
          } else {
            // The Node build loads the addon from its install dir; TMPDIR plays no part.
            assert.doesNotMatch(add.stderr, /memfd/);
          }

          const check = call('CHECK', JSON.stringify({ ...JSON.parse(conf), prevResult: add.json }));
          assert.equal(check.code, 0, `CHECK failed: ${check.stdout} ${check.stderr}`);
          const del = call('DEL', conf);
          assert.equal(del.code, 0, `DEL failed: ${del.stdout} ${del.stderr}`);
          assert.equal(snapshot(), before);
          assert.deepEqual(mountsUnder(tmp.path), [], 'the noexec mount leaked into the host mount table');
        } finally {
          tmp.cleanup();
          pod.cleanup();
        }
      });
    }

    it('a TMPDIR that does not exist: the same fallback (standalone) or no effect (node)', () => {
      const pod = makePodNode(`nm${build.label[0]}`);
      try {
        const conf = JSON.stringify({
          cniVersion: '1.0.0', name: 'cbr0', type: 'flannel',
          subnetFile: path.join(pod.state, 'subnet.env'), dataDir: path.join(pod.state, 'flannel'),
          ipam: { dataDir: path.join(pod.state, 'networks') },
        });
        const env = (command: string): Record<string, string> => ({
          CNI_COMMAND: command, CNI_CONTAINERID: `nodir${build.label}`, CNI_NETNS: pod.container, CNI_IFNAME: 'eth0', CNI_PATH: build.dir,
          TMPDIR: path.join(pod.state, 'no-such-dir'), CNI_TS_DEBUG: '1',
        });
        const add = runPlugin(build.dir, 'flannel', env('ADD'), conf, pod.ns);
        assert.equal(add.code, 0, `ADD failed: ${add.stdout} ${add.stderr}`);
        if (build.label === 'standalone') assert.match(add.stderr, /native addon: loaded from a memfd/);
        const del = runPlugin(build.dir, 'flannel', env('DEL'), conf, pod.ns);
        assert.equal(del.code, 0, `DEL failed: ${del.stdout} ${del.stderr}`);
        assert.equal(fs.existsSync(path.join(pod.state, 'no-such-dir')), false);
      } finally {
        pod.cleanup();
      }
    });
  });
}
