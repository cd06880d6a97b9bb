// shared/native/sysfs.ts: the addon's file syscalls must be indistinguishable from node:fs for
// every operation the plugins use: same results, same error code, errno, syscall, path and
// message. Runs the battery under Node, and under Bun (the runtime the addon path serves).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { addonFs, type SysFs } from '../../../shared/native/sysfs';
import { native } from '../../../shared/native/addon';
import { runBattery } from '../../helpers/sysfs-battery';

const ROOT = path.resolve(__dirname, '../../../..');
const BUN = path.join(ROOT, 'node_modules/@oven/bun-linux-x64/bin/bun');

function compare(a: ReturnType<typeof runBattery>, b: ReturnType<typeof runBattery>): void {
  assert.ok(Object.keys(a).length >= 50, 'the battery ran');
  for (const k of Object.keys(a)) assert.deepEqual(b[k], a[k], `case "${k}": ${JSON.stringify(b[k])} vs ${JSON.stringify(a[k])}`);
}

describe('sysfs: the addon matches node:fs', () => {
  it('under Node', () => {
    compare(runBattery(nodeFs as unknown as SysFs), runBattery(addonFs(native())));
  });

  it('under Bun (its node:fs against the addon)', () => {
    const script = `const { runBattery } = require(${JSON.stringify(path.join(ROOT, 'out/test/helpers/sysfs-battery.js'))});
const { addonFs } = require(${JSON.stringify(path.join(ROOT, 'out/shared/native/sysfs.js'))});
const { native } = require(${JSON.stringify(path.join(ROOT, 'out/shared/native/addon.js'))});
process.stdout.write(JSON.stringify([runBattery(require('node:fs')), runBattery(addonFs(native()))]));`;
    const r = spawnSync(BUN, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [bunFs, addon] = JSON.parse(r.stdout) as [ReturnType<typeof runBattery>, ReturnType<typeof runBattery>];
    compare(bunFs, addon);
  });
});
