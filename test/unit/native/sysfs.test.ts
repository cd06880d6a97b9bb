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
// The compiled modules of this build (out/ or CNI_TS_OUT), next to this test.
const BUILT = path.resolve(__dirname, '../../..');

function compare(a: ReturnType<typeof runBattery>, b: ReturnType<typeof runBattery>): void {
  assert.ok(Object.keys(a).length >= 50, 'the battery ran');
  for (const k of Object.keys(a)) assert.deepEqual(b[k], a[k], `case "${k}": ${JSON.stringify(b[k])} vs ${JSON.stringify(a[k])}`);
}

// The reference is Node's own node:fs: the addon must give the same under Node and under Bun
// (whose own node:fs differs in places: readdir order, an EFAULT from rmSync under a file).
describe('sysfs: the addon matches Node\'s node:fs', () => {
  const reference = runBattery(nodeFs as unknown as SysFs);

  it('under Node', () => {
    compare(reference, runBattery(addonFs(native())));
  });

  it('under Bun', () => {
    const script = `const { runBattery } = require(${JSON.stringify(path.join(BUILT, 'test/helpers/sysfs-battery.js'))});
const { addonFs } = require(${JSON.stringify(path.join(BUILT, 'shared/native/sysfs.js'))});
const { native } = require(${JSON.stringify(path.join(BUILT, 'shared/native/addon.js'))});
process.stdout.write(JSON.stringify(runBattery(addonFs(native()))));`;
    const r = spawnSync(BUN, ['-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    compare(reference, JSON.parse(r.stdout) as ReturnType<typeof runBattery>);
  });
});
