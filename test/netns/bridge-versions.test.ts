// bridge (+ host-local) through the built executables at every spec version: ADD, the kernel
// state (ip -j as oracle), CHECK where the version has it, DEL leaving nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Runtime } from '../helpers/libcni';
import { builds, tempDir } from '../helpers/plugins';
import { ipJ, ping, sh, shStatus } from '../helpers/sh';

const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

for (const b of builds()) {
  describe(`bridge at every spec version (${b.label} build)`, () => {
    const tag = `cts${process.pid % 10000}v${b.label[0]}`;
    const node = `${tag}-node`;
    const tmp = tempDir('brv');
    const made: string[] = [node];
    before(() => {
      sh('ip', ['netns', 'add', node]);
      sh('ip', ['-n', node, 'link', 'set', 'lo', 'up']);
    });
    after(() => {
      for (const n of made) shStatus('ip', ['netns', 'del', n]);
      tmp.cleanup();
    });

    VERSIONS.forEach((v, i) => {
      it(`${v}: dual-stack ADD, kernel state, CHECK, DEL`, () => {
        const pod = `${tag}-p${i}`;
        sh('ip', ['netns', 'add', pod]);
        made.push(pod);
        const dataDir = path.join(tmp.path, `d${i}`);
        const rt = new Runtime(
          {
            cniVersion: v,
            name: `brv${i}`,
            plugins: [
              {
                type: 'bridge',
                bridge: `cv${i}`,
                isGateway: true,
                isDefaultGateway: true,
                ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: `10.31.${i}.0/24` }], [{ subnet: `fd31:${i + 1}::/64` }]] },
              },
            ],
          },
          b.dir,
          path.join(tmp.path, `cache${i}`),
          node,
        );
        const rc = { containerId: `${tag}c${i}`, netns: `/run/netns/${pod}`, ifname: 'eth0' };
        const r = rt.add(rc);
        assert.equal(r.cniVersion, v);
        if (v === '0.1.0' || v === '0.2.0') {
          assert.equal(r.ip4.ip, `10.31.${i}.2/24`);
          assert.equal(r.ip6.ip, `fd31:${i + 1}::2/64`);
          assert.equal(r.interfaces, undefined);
        } else {
          assert.deepEqual(r.interfaces.map((x: any) => x.name.startsWith('veth') ? 'veth' : x.name), [`cv${i}`, 'veth', 'eth0']);
          assert.equal(r.interfaces[2].sandbox, `/run/netns/${pod}`);
          assert.deepEqual(r.ips.map((x: any) => x.address), [`10.31.${i}.2/24`, `fd31:${i + 1}::2/64`]);
          assert.ok(r.ips.every((x: any) => x.interface === 2));
        }
        // The kernel agrees: addresses in the pod, gateways on the bridge, default routes.
        const addrs = ipJ(pod, ['addr', 'show', 'eth0'])[0].addr_info.map((a: any) => `${a.local}/${a.prefixlen}`);
        assert.ok(addrs.includes(`10.31.${i}.2/24`) && addrs.includes(`fd31:${i + 1}::2/64`), addrs.join(' '));
        const br = ipJ(node, ['addr', 'show', `cv${i}`])[0].addr_info.map((a: any) => `${a.local}/${a.prefixlen}`);
        assert.ok(br.includes(`10.31.${i}.1/24`) && br.includes(`fd31:${i + 1}::1/64`), br.join(' '));
        assert.equal(ipJ(pod, ['-4', 'route', 'show', 'default'])[0].gateway, `10.31.${i}.1`);
        assert.equal(ipJ(pod, ['-6', 'route', 'show', 'default'])[0].gateway, `fd31:${i + 1}::1`);
        assert.ok(ping(pod, `10.31.${i}.1`), 'pod → gateway');
        if (v === '0.4.0' || v.startsWith('1.')) rt.check(rc);
        rt.del(rc);
        assert.deepEqual(ipJ(node, ['link', 'show']).filter((l: any) => l.master === `cv${i}`), [], 'no port left on the bridge');
        assert.deepEqual(fs.readdirSync(path.join(dataDir, `brv${i}`)).filter((f) => /^[0-9a-f.:]+$/.test(f)), [], 'addresses released');
        rt.del(rc); // idempotent
      });
    });
  });
}
