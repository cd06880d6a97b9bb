// A container image rootfs made of busybox-static (no registry is reachable here): busybox
// brings ip, ping, nc, httpd, wget and sleep into the containers the runtime tests start.
// See ../shared/reference/runtimes.md ("a busybox image rootfs").
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sh } from './sh';

export const BUSYBOX = '/bin/busybox';

/** Builds `<dir>/rootfs` and `<dir>/busybox-rootfs.tar` (root-owned, numeric ids); returns the tar path. */
export function buildBusyboxRootfs(dir: string): string {
  if (!fs.existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} missing: apt-get install busybox-static`);
  const r = path.join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'run', 'var']) fs.mkdirSync(path.join(r, d), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(r, 'bin/busybox'));
  fs.chmodSync(path.join(r, 'bin/busybox'), 0o755);
  for (const applet of sh(BUSYBOX, ['--list']).split('\n').filter(Boolean)) {
    if (applet === 'busybox') continue;
    fs.symlinkSync('busybox', path.join(r, 'bin', applet));
  }
  fs.symlinkSync('bin', path.join(r, 'sbin'));
  fs.chmodSync(path.join(r, 'tmp'), 0o1777);
  fs.writeFileSync(path.join(r, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.writeFileSync(path.join(r, 'etc/group'), 'root:x:0:\n');
  const tar = path.join(dir, 'busybox-rootfs.tar');
  sh('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', r, '-cf', tar, '.']);
  return tar;
}
