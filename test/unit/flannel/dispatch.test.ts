// flannelPlugin with the real delegate calls, through the real dispatcher, delegating to a
// stand-in plugin executable (a shell script) found in CNI_PATH: no root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCommand } from '../../../shared/cni/dispatch';
import { flannelPlugin } from '../../../plugins/flannel/plugin';

// Records its env's CNI_COMMAND and its stdin, then prints a 1.0.0 result on ADD (or fails
// when the file `fail` exists).
const SCRIPT = `#!/bin/sh
dir=$(dirname "$0")
cat > "$dir/stdin.$CNI_COMMAND"
echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME" >> "$dir/calls"
if [ -e "$dir/fail" ]; then printf '{"code":11,"msg":"delegate busy"}'; exit 1; fi
if [ "$CNI_COMMAND" = ADD ]; then
  printf '{"cniVersion":"1.0.0","ips":[{"address":"10.1.17.2/24","gateway":"10.1.17.1"}]}'
fi
`;

test('ADD/DEL through the dispatcher with an exec\'d delegate; DEL retried after a failure', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'flannel-dispatch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'fakebr'), SCRIPT);
  chmodSync(path.join(bin, 'fakebr'), 0o755);
  const subnetFile = path.join(dir, 'subnet.env');
  writeFileSync(subnetFile, 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n');
  const dataDir = path.join(dir, 'data');
  const conf = Buffer.from(
    JSON.stringify({ cniVersion: '0.3.1', name: 'cbr0', type: 'flannel', subnetFile, dataDir, delegate: { type: 'fakebr' } }),
  );
  const env = (cmd: string) => ({
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: 'abc123',
    CNI_NETNS: '/var/run/netns/does-not-matter',
    CNI_IFNAME: 'eth0',
    CNI_PATH: bin,
    PATH: process.env.PATH,
  });

  const add = await runCommand(flannelPlugin, env('ADD'), () => conf);
  assert.equal(add.kind, 'result', JSON.stringify(add));
  if (add.kind !== 'result') return;
  // Converted by the dispatcher to the config's version.
  assert.deepEqual(add.result, { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.17.2/24', gateway: '10.1.17.1' }] });
  const saved = readFileSync(path.join(dataDir, 'abc123'), 'utf8');
  assert.equal(readFileSync(path.join(bin, 'stdin.ADD'), 'utf8'), saved);
  assert.deepEqual(JSON.parse(saved), {
    cniVersion: '0.3.1',
    name: 'cbr0',
    type: 'fakebr',
    mtu: 1472,
    ipMasq: false,
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.17.0/24' }]], routes: [{ dst: '10.1.0.0/16' }] },
  });

  writeFileSync(path.join(bin, 'fail'), '');
  const del1 = await runCommand(flannelPlugin, env('DEL'), () => conf);
  assert.equal(del1.kind, 'error');
  if (del1.kind === 'error') {
    assert.equal(del1.error.code, 11);
    assert.equal(del1.error.message, 'failed to delegate del: delegate busy');
  }
  assert.ok(existsSync(path.join(dataDir, 'abc123')));
  rmSync(path.join(bin, 'fail'));
  const del2 = await runCommand(flannelPlugin, env('DEL'), () => conf);
  assert.equal(del2.kind, 'ok', JSON.stringify(del2));
  assert.equal(readFileSync(path.join(bin, 'stdin.DEL'), 'utf8'), saved);
  assert.equal(existsSync(path.join(dataDir, 'abc123')), false);
  assert.equal(readFileSync(path.join(bin, 'calls'), 'utf8'), 'ADD abc123 eth0\nDEL abc123 eth0\nDEL abc123 eth0\n');
  const del3 = await runCommand(flannelPlugin, env('DEL'), () => conf);
  assert.equal(del3.kind, 'ok');
  assert.equal(readFileSync(path.join(bin, 'calls'), 'utf8').split('\n').length, 4);
});
