// flannel through the built executables, with a recording stub delegate in a temp CNI_PATH:
// the delegate config saved per container and handed over byte for byte, the CNI_* environment
// passed on, results converted to the config's version, DEL retry after a delegate failure,
// torn scratch files, CHECK/GC/STATUS forwarding, subnet.env errors, delegate names with paths.
// No root, no kernel changes: the stub never touches the network.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builds, runPlugin, tempDir, type Run } from '../helpers/plugins';

const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const STUB = 'stubbridge';
const STUB_FAIL_CODE = 117;

const SUBNET_ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

// What the stub answers to ADD, in the shape of the version it is asked in (or of `force`).
const RESULT_SCRIPT = `
const fs = require('fs');
const conf = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
let v = conf.cniVersion || '0.1.0';
try { v = fs.readFileSync(process.argv[2], 'utf8').trim() || v; } catch {}
const address = '10.244.1.2/24', gateway = '10.244.1.1';
let r;
if (v === '0.1.0' || v === '0.2.0') r = { cniVersion: v, ip4: { ip: address, gateway } };
else if (v.startsWith('0.')) r = { cniVersion: v, ips: [{ version: '4', address, gateway }] };
else r = { cniVersion: v, ips: [{ address, gateway }] };
process.stdout.write(JSON.stringify(r));
`;

/**
 * A delegate that records each call as `<rec>/<n>.env` (its CNI_* variables) and `<rec>/<n>.stdin`,
 * fails with code 117 while `<rec>/fail-<COMMAND>` exists, and answers ADD with a canned result.
 */
function stubScript(rec: string): string {
  return `#!/bin/sh
rec='${rec}'
n=$(( $(cat "$rec/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$rec/count"
cat > "$rec/$n.stdin"
env | grep '^CNI_' | sort > "$rec/$n.env"
if [ -e "$rec/fail-$CNI_COMMAND" ]; then
  printf '{"code": ${STUB_FAIL_CODE}, "msg": "stub %s refused", "details": "marker"}' "$CNI_COMMAND"
  exit 1
fi
if [ "$CNI_COMMAND" = ADD ]; then
  exec '${process.execPath}' -e "$(cat "$rec/../result.js")" "$rec/$n.stdin" "$rec/force-version"
fi
exit 0
`;
}

interface Call {
  command: string;
  env: Record<string, string>;
  stdin: string;
}

interface Fixture {
  root: string;
  cniPath: string;
  rec: string;
  dataDir: string;
  subnetFile: string;
  calls(): Call[];
  scratch(id: string): string;
  conf(v: string, extra?: Record<string, unknown>, delegate?: Record<string, unknown>): string;
}

function runtimeEnv(f: Fixture, cmd: string, id: string, ifname = 'eth0'): Record<string, string> {
  return {
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: id,
    CNI_NETNS: `/var/run/netns/cts-fl-${process.pid}-${id}`,
    CNI_IFNAME: ifname,
    CNI_PATH: `/nonexistent-cts:${f.cniPath}`,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAME=pod-${id}`,
  };
}

/** The exact delegate config of §6.3 for the fixture's subnet.env and a non-bridge delegate. */
function expectedDelegate(v: string, type = STUB): Record<string, unknown> {
  const d: Record<string, unknown> = { cniVersion: v, name: 'cbr0', type, mtu: 1450, ipMasq: false };
  if (type === 'bridge') d.isGateway = true;
  d.hairpinMode = true;
  d.ipam = { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], routes: [{ dst: '10.244.0.0/16' }] };
  return d;
}

const expectedResult = (v: string): Record<string, unknown> => {
  if (v === '0.1.0' || v === '0.2.0') return { cniVersion: v, ip4: { ip: '10.244.1.2/24', gateway: '10.244.1.1' } };
  if (v.startsWith('0.')) return { cniVersion: v, ips: [{ version: '4', address: '10.244.1.2/24', gateway: '10.244.1.1' }] };
  return { cniVersion: v, ips: [{ address: '10.244.1.2/24', gateway: '10.244.1.1' }] };
};

/** The CNI_* variables the delegate must see: the runtime's, with CNI_COMMAND overridden. */
const cniVars = (env: Record<string, string>, cmd: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('CNI_')) out[k] = v;
  out.CNI_COMMAND = cmd;
  return out;
};

const mode = (p: string): number => fs.statSync(p).mode & 0o777;
const errOf = (r: Run): { code: number; msg: string } => ({ code: r.json?.code, msg: r.json?.msg });

for (const b of builds()) {
  describe(`flannel protocol (${b.label} build)`, () => {
    const tmp = tempDir('fl');
    after(() => tmp.cleanup());
    let n = 0;

    function fixture(opts: { subnetEnv?: string | null; stubNames?: string[] } = {}): Fixture {
      const root = path.join(tmp.path, `f${n++}`);
      const cniPath = path.join(root, 'cni');
      const rec = path.join(root, 'rec');
      fs.mkdirSync(cniPath, { recursive: true });
      fs.mkdirSync(rec);
      fs.writeFileSync(path.join(root, 'result.js'), RESULT_SCRIPT);
      for (const name of opts.stubNames ?? [STUB]) fs.writeFileSync(path.join(cniPath, name), stubScript(rec), { mode: 0o755 });
      const subnetFile = path.join(root, 'run', 'subnet.env');
      const subnetEnv = opts.subnetEnv === undefined ? SUBNET_ENV : opts.subnetEnv;
      if (subnetEnv !== null) {
        fs.mkdirSync(path.dirname(subnetFile));
        fs.writeFileSync(subnetFile, subnetEnv);
      }
      const dataDir = path.join(root, 'data', 'flannel');
      return {
        root,
        cniPath,
        rec,
        dataDir,
        subnetFile,
        calls(): Call[] {
          const count = fs.existsSync(path.join(rec, 'count')) ? Number(fs.readFileSync(path.join(rec, 'count'), 'utf8')) : 0;
          return Array.from({ length: count }, (_, i) => {
            const env: Record<string, string> = {};
            for (const line of fs.readFileSync(path.join(rec, `${i + 1}.env`), 'utf8').split('\n')) {
              const eq = line.indexOf('=');
              if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
            }
            return { command: env.CNI_COMMAND ?? '', env, stdin: fs.readFileSync(path.join(rec, `${i + 1}.stdin`), 'utf8') };
          });
        },
        scratch: (id) => path.join(dataDir, id),
        conf(v, extra = {}, delegate = { type: STUB, hairpinMode: true }) {
          return JSON.stringify({ cniVersion: v, name: 'cbr0', type: 'flannel', subnetFile, dataDir, delegate, ...extra });
        },
      };
    }

    const run = (f: Fixture, cmd: string, id: string, conf: string): Run => runPlugin(b.dir, 'flannel', runtimeEnv(f, cmd, id), conf);

    for (const v of VERSIONS) {
      it(`${v}: ADD saves and hands over the delegate config, DEL replays it, a second DEL is a no-op`, () => {
        const f = fixture();
        const conf = f.conf(v);
        const add = run(f, 'ADD', 'ctr1', conf);
        assert.equal(add.code, 0, add.stdout + add.stderr);
        assert.deepEqual(add.json, expectedResult(v), 'result printed in the config version');

        const file = f.scratch('ctr1');
        const saved = fs.readFileSync(file, 'utf8');
        assert.equal(saved, JSON.stringify(expectedDelegate(v)), 'exact delegate JSON (no isGateway for a non-bridge type)');
        assert.equal(mode(file), 0o600);
        assert.equal(mode(f.dataDir), 0o700);

        let calls = f.calls();
        assert.equal(calls.length, 1);
        assert.equal(calls[0]!.command, 'ADD');
        assert.deepEqual(calls[0]!.env, cniVars(runtimeEnv(f, 'ADD', 'ctr1'), 'ADD'));
        assert.equal(calls[0]!.stdin, saved, 'the delegate got the saved bytes');

        const del = run(f, 'DEL', 'ctr1', conf);
        assert.equal(del.code, 0, del.stdout + del.stderr);
        assert.equal(del.stdout, '');
        calls = f.calls();
        assert.equal(calls.length, 2);
        assert.equal(calls[1]!.command, 'DEL');
        assert.deepEqual(calls[1]!.env, cniVars(runtimeEnv(f, 'DEL', 'ctr1'), 'DEL'));
        assert.equal(calls[1]!.stdin, saved);
        assert.ok(!fs.existsSync(file), 'scratch file removed');

        const again = run(f, 'DEL', 'ctr1', conf);
        assert.equal(again.code, 0, again.stdout);
        assert.equal(f.calls().length, 2, 'the delegate is not called for an unknown container');
      });
    }

    it('default delegate type is bridge, with isGateway (a stub named bridge in CNI_PATH)', () => {
      const f = fixture({ stubNames: ['bridge'] });
      const conf = f.conf('1.0.0', {}, { hairpinMode: true });
      const add = run(f, 'ADD', 'br1', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      const want = JSON.stringify(expectedDelegate('1.0.0', 'bridge'));
      assert.equal(fs.readFileSync(f.scratch('br1'), 'utf8'), want);
      assert.deepEqual(f.calls().map((c) => [c.command, c.stdin]), [['ADD', want]]);
    });

    it('a delegate result of another version is printed in the config version', () => {
      const f = fixture();
      fs.writeFileSync(path.join(f.rec, 'force-version'), '1.1.0');
      const add = run(f, 'ADD', 'conv', f.conf('0.3.1'));
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.deepEqual(add.json, expectedResult('0.3.1'));
      const add2 = run(f, 'ADD', 'conv2', f.conf('0.2.0'));
      assert.equal(add2.code, 0, add2.stdout + add2.stderr);
      assert.deepEqual(add2.json, expectedResult('0.2.0'));
    });

    it('a failed delegate ADD keeps the scratch file; the runtime DEL consumes it', () => {
      const f = fixture();
      const conf = f.conf('1.0.0');
      fs.writeFileSync(path.join(f.rec, 'fail-ADD'), '');
      const add = run(f, 'ADD', 'half', conf);
      assert.equal(add.code, 1);
      assert.deepEqual(errOf(add), { code: STUB_FAIL_CODE, msg: 'failed to delegate add: stub ADD refused' });
      assert.equal(add.json.details, 'marker');
      const saved = fs.readFileSync(f.scratch('half'), 'utf8');
      assert.equal(saved, JSON.stringify(expectedDelegate('1.0.0')));
      const del = run(f, 'DEL', 'half', conf);
      assert.equal(del.code, 0, del.stdout);
      assert.deepEqual(f.calls().map((c) => [c.command, c.stdin]), [['ADD', saved], ['DEL', saved]]);
      assert.ok(!fs.existsSync(f.scratch('half')));
    });

    it('DEL retry after a delegate DEL failure reaches the delegate again', () => {
      const f = fixture();
      const conf = f.conf('1.0.0');
      assert.equal(run(f, 'ADD', 'retry', conf).code, 0);
      const saved = fs.readFileSync(f.scratch('retry'), 'utf8');
      fs.writeFileSync(path.join(f.rec, 'fail-DEL'), '');

      const del = run(f, 'DEL', 'retry', conf);
      assert.equal(del.code, 1);
      assert.deepEqual(errOf(del), { code: STUB_FAIL_CODE, msg: 'failed to delegate del: stub DEL refused' });
      assert.equal(del.json.details, 'marker');
      assert.equal(fs.readFileSync(f.scratch('retry'), 'utf8'), saved, 'scratch file kept for the retry');

      fs.rmSync(path.join(f.rec, 'fail-DEL'));
      const retry = run(f, 'DEL', 'retry', conf);
      assert.equal(retry.code, 0, retry.stdout);
      assert.ok(!fs.existsSync(f.scratch('retry')));
      assert.deepEqual(f.calls().map((c) => [c.command, c.stdin]), [['ADD', saved], ['DEL', saved], ['DEL', saved]]);
    });

    for (const [label, cut] of [['zero-byte', (_s: string) => ''], ['truncated', (s: string) => s.slice(0, Math.floor(s.length / 2))]] as const) {
      it(`a ${label} scratch file: DEL delegates a rebuilt config and removes the file`, () => {
        const f = fixture();
        const conf = f.conf('1.0.0');
        assert.equal(run(f, 'ADD', 'torn', conf).code, 0);
        const saved = fs.readFileSync(f.scratch('torn'), 'utf8');
        fs.writeFileSync(f.scratch('torn'), cut(saved));
        const del = run(f, 'DEL', 'torn', conf);
        assert.equal(del.code, 0, del.stdout + del.stderr);
        assert.match(del.stderr, new RegExp(`saved delegate config ${f.scratch('torn').replace(/[.]/g, '\\.')} is unusable`));
        const last = f.calls().at(-1)!;
        assert.equal(last.command, 'DEL');
        assert.equal(last.stdin, saved, 'rebuilt from the unchanged flannel config and subnet.env');
        assert.deepEqual(last.env, cniVars(runtimeEnv(f, 'DEL', 'torn'), 'DEL'));
        assert.ok(!fs.existsSync(f.scratch('torn')));
      });
    }

    it('a zero-byte scratch file and no subnet.env: DEL delegates the minimal config', () => {
      const f = fixture();
      const conf = f.conf('1.0.0');
      assert.equal(run(f, 'ADD', 'bare', conf).code, 0);
      fs.writeFileSync(f.scratch('bare'), '');
      fs.rmSync(f.subnetFile);
      const del = run(f, 'DEL', 'bare', conf);
      assert.equal(del.code, 0, del.stdout + del.stderr);
      const last = f.calls().at(-1)!;
      assert.equal(last.command, 'DEL');
      assert.equal(last.stdin, JSON.stringify({ cniVersion: '1.0.0', name: 'cbr0', type: STUB, hairpinMode: true, ipam: { type: 'host-local' } }));
      assert.ok(!fs.existsSync(f.scratch('bare')));
    });

    it('CHECK (1.0.0) delegates the saved config plus prevResult; a missing scratch file is an error', () => {
      const f = fixture();
      const conf = f.conf('1.0.0');
      const add = run(f, 'ADD', 'chk', conf);
      assert.equal(add.code, 0);
      const saved = fs.readFileSync(f.scratch('chk'), 'utf8');
      const chk = run(f, 'CHECK', 'chk', f.conf('1.0.0', { prevResult: add.json }));
      assert.equal(chk.code, 0, chk.stdout + chk.stderr);
      const last = f.calls().at(-1)!;
      assert.equal(last.command, 'CHECK');
      assert.deepEqual(last.env, cniVars(runtimeEnv(f, 'CHECK', 'chk'), 'CHECK'));
      assert.equal(last.stdin, JSON.stringify({ ...JSON.parse(saved), prevResult: add.json }));

      const before = f.calls().length;
      const missing = run(f, 'CHECK', 'ghost', f.conf('1.0.0', { prevResult: add.json }));
      assert.equal(missing.code, 1);
      assert.deepEqual(errOf(missing), {
        code: 999,
        msg: `no saved delegate config ${f.scratch('ghost')} for container ghost: it was not added by this plugin, or was deleted`,
      });
      assert.equal(f.calls().length, before, 'the delegate is not called');

      fs.writeFileSync(path.join(f.rec, 'fail-CHECK'), '');
      const failed = run(f, 'CHECK', 'chk', f.conf('1.0.0', { prevResult: add.json }));
      assert.deepEqual(errOf(failed), { code: STUB_FAIL_CODE, msg: 'failed to delegate check: stub CHECK refused' });
    });

    it('GC (1.1.0) forwards valid-attachments; removes only stale scratch files of invalid attachments', () => {
      const f = fixture();
      const conf = f.conf('1.1.0');
      for (const id of ['valid-old', 'stale', 'young']) assert.equal(run(f, 'ADD', id, conf).code, 0);
      const old = new Date(Date.now() - 120_000);
      fs.utimesSync(f.scratch('valid-old'), old, old);
      fs.utimesSync(f.scratch('stale'), old, old);
      const valid = [{ containerID: 'valid-old', ifname: 'eth0' }];

      const gc = runPlugin(b.dir, 'flannel', { CNI_COMMAND: 'GC', CNI_PATH: f.cniPath }, f.conf('1.1.0', { 'cni.dev/valid-attachments': valid }));
      assert.equal(gc.code, 0, gc.stdout + gc.stderr);
      const last = f.calls().at(-1)!;
      assert.equal(last.command, 'GC');
      assert.deepEqual(last.env, { CNI_COMMAND: 'GC', CNI_PATH: f.cniPath });
      assert.equal(last.stdin, JSON.stringify({ ...expectedDelegate('1.1.0'), 'cni.dev/valid-attachments': valid }));
      assert.deepEqual(fs.readdirSync(f.dataDir).sort(), ['valid-old', 'young']);

      // The spec-typo key (cni#1101) is forwarded as given and honoured too.
      fs.utimesSync(f.scratch('young'), old, old);
      const typo = [{ containerID: 'young', ifname: 'eth0' }];
      const gc2 = runPlugin(b.dir, 'flannel', { CNI_COMMAND: 'GC', CNI_PATH: f.cniPath }, f.conf('1.1.0', { 'cni.dev/attachments': typo }));
      assert.equal(gc2.code, 0, gc2.stdout);
      assert.equal(f.calls().at(-1)!.stdin, JSON.stringify({ ...expectedDelegate('1.1.0'), 'cni.dev/attachments': typo }));
      assert.deepEqual(fs.readdirSync(f.dataDir), ['young']);

      // Without a list no attachment is valid (as for host-local): only files inside the grace stay.
      assert.equal(run(f, 'ADD', 'newest', conf).code, 0);
      const bare = runPlugin(b.dir, 'flannel', { CNI_COMMAND: 'GC', CNI_PATH: f.cniPath }, f.conf('1.1.0'));
      assert.equal(bare.code, 0, bare.stdout);
      assert.equal(f.calls().at(-1)!.stdin, JSON.stringify(expectedDelegate('1.1.0')));
      assert.deepEqual(fs.readdirSync(f.dataDir), ['newest']);
    });

    it('STATUS (1.1.0): code 50 naming subnet.env when missing or invalid; forwarded when ready', () => {
      const f = fixture({ subnetEnv: null });
      const status = (): Run => runPlugin(b.dir, 'flannel', { CNI_COMMAND: 'STATUS', CNI_PATH: f.cniPath }, f.conf('1.1.0'));
      const file = f.subnetFile;

      assert.deepEqual(errOf(status()), {
        code: 50,
        msg: `flannel is not ready: open ${file}: no such file or directory (flanneld writes ${file} once it holds a lease for this node)`,
      });
      fs.mkdirSync(path.dirname(file));
      fs.writeFileSync(file, 'foo=bar\n');
      assert.deepEqual(errOf(status()), {
        code: 50,
        msg: `flannel is not ready: ${file} is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ`,
      });
      assert.equal(f.calls().length, 0, 'the delegate is not asked while flannel is not ready');

      fs.writeFileSync(file, SUBNET_ENV);
      const ok = status();
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.deepEqual(f.calls().map((c) => [c.command, c.stdin, c.env]), [
        ['STATUS', JSON.stringify(expectedDelegate('1.1.0')), { CNI_COMMAND: 'STATUS', CNI_PATH: f.cniPath }],
      ]);
    });

    it('ADD without subnet.env: names the file, writes nothing, calls no delegate', () => {
      const f = fixture({ subnetEnv: null });
      const add = run(f, 'ADD', 'early', f.conf('1.0.0'));
      assert.equal(add.code, 1);
      assert.deepEqual(errOf(add), {
        code: 11,
        msg: `failed to load flannel 'subnet.env' file: open ${f.subnetFile}: no such file or directory. Check the flannel pod log for this node.`,
      });
      assert.ok(!fs.existsSync(f.dataDir), 'nothing written to dataDir');
      assert.equal(f.calls().length, 0);
    });

    it('a delegate type with a path is refused (code 7) and nothing is executed', () => {
      const f = fixture();
      // `<cni>/../../bin/sh` resolves to this recording script: a path join would run it.
      const cniDeep = path.join(f.root, 'a', 'b');
      fs.mkdirSync(cniDeep, { recursive: true });
      fs.mkdirSync(path.join(f.root, 'bin'));
      fs.writeFileSync(path.join(f.root, 'bin', 'sh'), stubScript(f.rec), { mode: 0o755 });
      const env = { ...runtimeEnv(f, 'ADD', 'evil'), CNI_PATH: cniDeep };
      const conf = f.conf('1.0.0', {}, { type: '../../bin/sh' });
      const add = runPlugin(b.dir, 'flannel', env, conf);
      assert.equal(add.code, 1);
      assert.deepEqual(errOf(add), { code: 7, msg: 'delegate.type: invalid plugin name: ../../bin/sh' });
      assert.equal(f.calls().length, 0, 'nothing executed');
    });

    it(
      'a delegate type with a path is refused before anything is saved, so DEL of that container succeeds',
      () => {
        const f = fixture();
        const conf = f.conf('1.0.0', {}, { type: '../../bin/sh' });
        const add = run(f, 'ADD', 'evil2', conf);
        assert.equal(add.json?.code, 7);
        assert.ok(!fs.existsSync(f.scratch('evil2')), 'no scratch file for a config that cannot be delegated');
        const del = run(f, 'DEL', 'evil2', conf);
        assert.equal(del.code, 0, del.stdout);
        assert.equal(f.calls().length, 0);
      },
    );
  });
}
