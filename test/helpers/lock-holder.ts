// A separate process holding flock(LOCK_EX) on a file through the project's addon, for tests
// of what happens when a lock holder is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { TestContext } from 'node:test';

const ADDON = path.resolve(__dirname, '../../../build/Release/cni_native.node');

/** Resolves once the child holds the lock; the child is SIGKILLed after the test if still alive. */
export async function spawnLockHolder(t: TestContext, lockPath: string): Promise<ChildProcess> {
  const script = `
    const fs = require('fs');
    const a = require(${JSON.stringify(ADDON)});
    const fd = fs.openSync(${JSON.stringify(lockPath)}, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    a.flock(fd, 2);
    process.stdout.write('locked\\n');
    setTimeout(() => {}, 60000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`child exited early: ${code}`)));
  });
  return child;
}
