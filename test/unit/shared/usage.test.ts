// The --help/--version text: which arguments ask for it, and that it names the suite version,
// the build, every plugin, every protocol version and every environment knob the code reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliFlag, SUITE_PLUGINS, usageText } from '../../../shared/cni/usage';
import { SUPPORTED_VERSIONS } from '../../../shared/cni/version';
import { version } from '../../../package.json';

// Compiled to <outDir>/test/unit/shared: the repository root is four levels up.
const ROOT = path.resolve(__dirname, '../../../..');

test('SUITE_PLUGINS are the plugins scripts/build.sh builds', () => {
  const m = /^PLUGINS=\(([^)]*)\)/m.exec(fs.readFileSync(path.join(ROOT, 'scripts/build.sh'), 'utf8'));
  assert.ok(m, 'build.sh defines PLUGINS');
  assert.deepEqual([...SUITE_PLUGINS], m[1]!.trim().split(/\s+/));
});

test('cliFlag: the first argument (after the plugin name under cni-ts-suite) and only the four flags', () => {
  assert.equal(cliFlag(['--version']), '--version');
  assert.equal(cliFlag(['--help']), '--help');
  assert.equal(cliFlag(['-h']), '-h');
  assert.equal(cliFlag(['-v']), '-v');
  assert.equal(cliFlag(['flannel', '--version'], 'flannel'), '--version');
  assert.equal(cliFlag(['--version'], 'flannel'), '--version');
  assert.equal(cliFlag([]), undefined);
  assert.equal(cliFlag(['--verbose']), undefined);
  assert.equal(cliFlag(['flannel'], 'flannel'), undefined);
  assert.equal(cliFlag(['x', '--help']), undefined, 'only the first argument counts');
});

test('the text names the version, the build, the plugins, the protocol versions and every knob', () => {
  const knobs = ['CNI_TS_DEBUG', 'CNI_TS_LOG_FILE', 'CNI_TS_TIMING', 'CNI_TS_<TOOL>', 'CNI_NETNS_OVERRIDE',
    'CNI_TS_IPTABLES_RESTORE', 'CNI_TS_IP6TABLES_RESTORE', 'CNI_TS_IPTABLES_SAVE', 'CNI_TS_IP6TABLES_SAVE', 'CNI_TS_NFT', 'CNI_TS_CONNTRACK'];
  const standalone = usageText({ bun: '1.2.3', node: 'v24.3.0' });
  assert.equal(standalone.split('\n')[0], `cni-ts-suite v${version} (standalone build, Bun 1.2.3)`);
  assert.match(standalone, /cni-ts-suite <plugin> /, 'the standalone explains cni-ts-suite <plugin>');
  const node = usageText({ plugin: 'portmap', node: 'v20.1.0' });
  assert.equal(node.split('\n')[0], `cni-ts-suite v${version} (node build, Node v20.1.0): the portmap plugin`);
  assert.doesNotMatch(node, /cni-ts-suite <plugin>/, 'the Node build has no multi-call executable');
  for (const t of [standalone, node]) {
    assert.ok(t.includes('Plugins: flannel, bridge, host-local, portmap\n'), t);
    assert.ok(t.includes(`CNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n`), t);
    for (const k of knobs) assert.ok(t.includes(k), `${k} in\n${t}`);
  }
});

test('every environment variable the plugins read is in the text', () => {
  // Scans the product code: a new CNI_TS_* knob without a line in --help fails here.
  const read = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/\b(CNI_TS_[A-Z_]+|CNI_NETNS_OVERRIDE)\b/g)) read.add(m[1]!);
    }
  };
  walk(path.join(ROOT, 'plugins'));
  walk(path.join(ROOT, 'shared'));
  const text = usageText({ node: 'v20.0.0' });
  for (const v of read) assert.ok(text.includes(v), `${v} is read by the code but not in --help`);
});
