// One battery of file operations, run through an implementation of SysFs; the record of every
// result and error is compared between node:fs and the addon's syscalls (shared/native/sysfs.ts)
// under Node (test/unit/native/sysfs.test.ts) and under Bun (the same file run by bun).
import * as os from 'node:os';
import * as path from 'node:path';
import * as nodeFs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import type { SysFs, SysStats } from '../../shared/native/sysfs';

export type Outcome = { ok: unknown } | { err: Record<string, unknown> };

function outcome(f: () => unknown): Outcome {
  try {
    return { ok: f() };
  } catch (e) {
    const x = e as NodeJS.ErrnoException & { dest?: string };
    return { err: { code: x.code, errno: x.errno, syscall: x.syscall, path: x.path, dest: x.dest, message: x.message } };
  }
}

/** A stat, with the fields that differ between runs (inode, times) checked against node:fs. */
const statView = (s: SysStats, p: string, follow = true): unknown => {
  const ref = follow ? nodeFs.statSync(p) : nodeFs.lstatSync(p);
  return {
    sameIno: s.ino === ref.ino, sameDev: s.dev === ref.dev, sameMtime: Math.abs(s.mtimeMs - ref.mtimeMs) < 0.001,
    mode: s.mode, nlink: s.nlink, uid: s.uid, gid: s.gid, size: s.size,
    file: s.isFile(), dir: s.isDirectory(), link: s.isSymbolicLink(),
  };
};

/** Runs the battery in a fresh directory; the record's keys name the cases. */
export function runBattery(fs: SysFs): Record<string, Outcome> {
  const root = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'cts-sysfs-'));
  const d = (p: string): string => path.join(root, p);
  const out: Record<string, Outcome> = {};
  // Paths inside the record are made relative to the run's own directory; undefined is kept
  // apart from null through JSON (the Bun run reports through it).
  const rel = (v: unknown): unknown => (v === undefined ? '<undefined>' : JSON.parse(JSON.stringify(v).split(root).join('<root>')));
  const run = (name: string, f: () => unknown): void => {
    const o = outcome(f);
    if ('err' in o) for (const k of Object.keys(o.err)) o.err[k] = rel(o.err[k]);
    else o.ok = rel(o.ok);
    out[name] = o;
  };
  try {
    nodeFs.writeFileSync(d('file'), 'hello\n');
    nodeFs.mkdirSync(d('dir'));
    nodeFs.writeFileSync(d('dir/a'), 'a');
    nodeFs.mkdirSync(d('dir/sub'));
    nodeFs.symlinkSync(d('file'), d('link'));
    const C = fs.constants;

    run('open r', () => { const fd = fs.openSync(d('file'), 'r'); fs.closeSync(fd); return typeof fd; });
    run('open missing', () => fs.openSync(d('missing'), 'r'));
    run('open excl existing', () => fs.openSync(d('file'), C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600));
    run('open dir for writing', () => fs.openSync(d('dir'), C.O_WRONLY));
    run('open under a file', () => fs.openSync(d('file/x'), 'r'));
    run('open O_DIRECTORY', () => { const fd = fs.openSync(d('dir'), C.O_RDONLY | C.O_DIRECTORY); fs.fsyncSync(fd); fs.closeSync(fd); return 'ok'; });
    run('open excl new, mode', () => { const fd = fs.openSync(d('new'), C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600); fs.fchmodSync(fd, 0o640); fs.closeSync(fd); return fs.statSync(d('new')).mode & 0o777; });
    run('readFile utf8', () => fs.readFileSync(d('file'), 'utf8'));
    run('readFile buffer', () => [...fs.readFileSync(d('file'))]);
    run('readFile missing', () => fs.readFileSync(d('missing'), 'utf8'));
    run('readFile dir', () => fs.readFileSync(d('dir'), 'utf8'));
    run('readFile /proc (size 0)', () => fs.readFileSync('/proc/self/stat', 'utf8').length > 0);
    run('readFile large', () => { nodeFs.writeFileSync(d('large'), 'x'.repeat(300000)); return fs.readFileSync(d('large'), 'utf8').length; });
    run('writeFile', () => { fs.writeFileSync(d('w'), 'one'); fs.writeFileSync(d('w'), 'two'); return nodeFs.readFileSync(d('w'), 'utf8'); });
    run('writeFile missing dir', () => fs.writeFileSync(d('nodir/w'), 'x'));
    run('appendFile', () => { fs.appendFileSync(d('ap'), 'a\n', { mode: 0o600 }); fs.appendFileSync(d('ap'), 'b\n', { mode: 0o600 }); return [nodeFs.readFileSync(d('ap'), 'utf8'), nodeFs.statSync(d('ap')).mode & 0o777]; });
    run('stat file', () => statView(fs.statSync(d('file')), d('file')));
    run('stat dir', () => statView(fs.statSync(d('dir')), d('dir')));
    run('stat link follows', () => statView(fs.statSync(d('link')), d('link')));
    run('lstat link', () => statView(fs.lstatSync(d('link')), d('link'), false));
    run('stat missing', () => fs.statSync(d('missing')));
    run('lstat missing', () => fs.lstatSync(d('missing')));
    run('fstat', () => { const fd = fs.openSync(d('file'), 'r'); try { return statView(fs.fstatSync(fd), d('file')); } finally { fs.closeSync(fd); } });
    run('fstat bad fd', () => fs.fstatSync(999999));
    run('close bad fd', () => fs.closeSync(999999));
    run('statfs', () => { const s = fs.statfsSync(root); return [s.type, s.bsize, s.blocks > 0, s.files >= 0]; });
    run('statfs missing', () => fs.statfsSync(d('missing')));
    run('exists yes', () => fs.existsSync(d('file')));
    run('exists no', () => fs.existsSync(d('missing')));
    run('exists under a file', () => fs.existsSync(d('file/x')));
    run('access W_OK', () => { fs.accessSync(d('dir'), C.W_OK); return 'done'; }); // Bun's own returns null, Node's undefined
    run('access missing', () => fs.accessSync(d('missing'), C.X_OK));
    run('mkdir existing', () => fs.mkdirSync(d('dir')));
    run('mkdir missing parent', () => fs.mkdirSync(d('m1/m2')));
    run('mkdir recursive existing', () => fs.mkdirSync(d('dir'), { recursive: true }));
    run('mkdir recursive new', () => [fs.mkdirSync(d('r1/r2/r3'), { recursive: true, mode: 0o755 }), nodeFs.statSync(d('r1/r2/r3')).isDirectory()]);
    run('mkdir recursive over a file', () => fs.mkdirSync(d('file'), { recursive: true }));
    run('mkdir recursive under a file', () => fs.mkdirSync(d('file/x/y'), { recursive: true }));
    // Unsorted on purpose: Node returns names in libuv's strcmp order.
    for (const n of ['zeta', 'alpha', 'Mid', '10', '9', '_x']) nodeFs.writeFileSync(d(`dir/${n}`), '');
    run('readdir', () => fs.readdirSync(d('dir')));
    run('readdir types', () => fs.readdirSync(root, { withFileTypes: true }).map((e) => [e.name, e.isFile(), e.isDirectory(), e.isSymbolicLink()]));
    run('readdir missing', () => fs.readdirSync(d('missing')));
    run('readdir file', () => fs.readdirSync(d('file')));
    run('rename', () => { nodeFs.writeFileSync(d('ra'), 'r'); fs.renameSync(d('ra'), d('rb')); return nodeFs.readFileSync(d('rb'), 'utf8'); });
    run('rename missing', () => fs.renameSync(d('missing'), d('rc')));
    run('unlink', () => { nodeFs.writeFileSync(d('u'), ''); fs.unlinkSync(d('u')); return nodeFs.existsSync(d('u')); });
    run('unlink missing', () => fs.unlinkSync(d('missing')));
    run('unlink dir', () => fs.unlinkSync(d('dir/sub')));
    run('rm force missing', () => fs.rmSync(d('missing'), { force: true }));
    run('rm missing without force', () => fs.rmSync(d('missing')));
    run('rm under a file', () => fs.rmSync(d('file/x'), { force: true }));
    run('rm a directory', () => fs.rmSync(d('dir/sub'), { force: true }));
    run('NUL: exists', () => fs.existsSync(d('a\0b')));
    run('NUL: open', () => fs.openSync(d('a\0b'), 'r'));
    run('NUL: readFile', () => fs.readFileSync(d('a\0b'), 'utf8'));
    run('NUL: mkdir recursive', () => fs.mkdirSync(d("it's\0x"), { recursive: true }));
    run('readFile a FIFO (read once, to EOF)', () => {
      spawnSync('mkfifo', [d('fifo')]);
      const w = spawn('/bin/sh', ['-c', `head -c 70000 /dev/zero | tr '\\0' y > ${d('fifo')}`]);
      const text = fs.readFileSync(d('fifo'), 'utf8');
      w.kill();
      return text.length;
    });
    run('rm file', () => { nodeFs.writeFileSync(d('rmf'), ''); fs.rmSync(d('rmf'), { force: true }); return nodeFs.existsSync(d('rmf')); });
    run('write string and buffer range, read at position', () => {
      const fd = fs.openSync(d('rw'), C.O_RDWR | C.O_CREAT, 0o600);
      try {
        const a = fs.writeSync(fd, 'héllo ');
        const b = fs.writeSync(fd, Buffer.from('0123456789'), 2, 5);
        const buf = Buffer.alloc(32);
        const n = fs.readSync(fd, buf, 0, 32, 0);
        const m = fs.readSync(fd, buf, 0, 32, null);
        return [a, b, n, buf.subarray(0, n).toString(), m];
      } finally {
        fs.closeSync(fd);
      }
    });
    run('write bad fd', () => fs.writeSync(999999, 'x'));
  } finally {
    nodeFs.rmSync(root, { recursive: true, force: true });
  }
  return out;
}
