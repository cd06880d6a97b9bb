// The layers of shared/ (issue 16): shared/base (log, timing, message text, sleep, lazy
// child_process, crypto-lite) is below everything; the kernel, netfilter and state layers
// may use only what is below them, never shared/cni (the CNI protocol: dispatch, delegation,
// CNI errors), plugins/ or flanneld/. Their errors are typed (LockTimeoutError, NetfilterError,
// …) and the plugins give them CNI codes. Read from the sources, lazy require() included.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../../..');

/** What each directory of shared/ may import besides itself and packages. */
const MAY_USE: Record<string, readonly string[]> = {
  'shared/base': [],
  'shared/ip': ['shared/base'],
  'shared/subnet-env': ['shared/base', 'shared/ip'],
  'shared/native': ['shared/base'],
  'shared/netns': ['shared/base', 'shared/native'],
  'shared/netlink': ['shared/base', 'shared/ip', 'shared/native', 'shared/netns'],
  'shared/netfilter': ['shared/base', 'shared/ip', 'shared/native'],
  'shared/state': ['shared/base', 'shared/native'],
  // The top of shared/: everything below (and package.json, for the version it reports), but no
  // plugin and not the daemon.
  'shared/cni': ['package.json', 'shared/base', 'shared/ip', 'shared/subnet-env', 'shared/native', 'shared/netns', 'shared/netlink', 'shared/netfilter', 'shared/state'],
};

/** The addon binary shared/native loads by a path relative to the compiled file. */
const ADDON = /\/build\/Release\/cni_native\.node$/;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** `dir/first-component` of a repository-relative path (shared/netlink/links → shared/netlink). */
const unitOf = (rel: string): string => rel.split('/').slice(0, 2).join('/');

/** Every import of a file under `root`/shared that its layer does not allow, as readable lines. */
export function layeringViolations(root: string): string[] {
  const problems: string[] = [];
  for (const file of tsFiles(path.join(root, 'shared'))) {
    const rel = path.relative(root, file);
    const layer = unitOf(rel);
    const allowed = MAY_USE[layer];
    if (!allowed || !rel.slice(layer.length).startsWith('/')) {
      problems.push(`${rel}: in no layer (a file directly under shared/, or a new directory: add it to MAY_USE)`);
      continue;
    }
    const imports = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true).importedFiles;
    for (const { fileName: spec } of imports) {
      if (!spec.startsWith('.')) continue; // a package or builtin
      if (layer === 'shared/native' && ADDON.test(spec)) continue;
      const target = path.relative(root, path.resolve(path.dirname(file), spec));
      const unit = unitOf(target);
      if (unit === layer || allowed.includes(unit)) continue;
      problems.push(`${rel} imports ${spec} (${unit}): ${layer} may use only ${allowed.join(', ') || 'itself'}`);
    }
  }
  return problems.sort();
}

test('shared/ layers: base below everything, no lower layer imports shared/cni, plugins/ or flanneld/', () => {
  assert.deepEqual(layeringViolations(ROOT), []);
});

test('the layering check sees a violation (a check of the test itself)', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'layering-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'shared/state'), { recursive: true });
  fs.writeFileSync(path.join(root, 'shared/state/x.ts'), "import { CniError } from '../cni/errors';\nconst l = () => require('../../plugins/host-local/plugin');\n");
  fs.writeFileSync(path.join(root, 'shared/loose.ts'), '');
  assert.deepEqual(layeringViolations(root), [
    'shared/loose.ts: in no layer (a file directly under shared/, or a new directory: add it to MAY_USE)',
    'shared/state/x.ts imports ../../plugins/host-local/plugin (plugins/host-local): shared/state may use only shared/base, shared/native',
    'shared/state/x.ts imports ../cni/errors (shared/cni): shared/state may use only shared/base, shared/native',
  ]);
});
