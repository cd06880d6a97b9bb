// What each call loads (issue 16): the modules evaluated when an entry is loaded, read from the
// compiled output. tsc emits each import as a top-level `require("…")`; a require inside a
// function (indented) is a lazy load that runs only when that function does.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const OUT = path.resolve(__dirname, '../../..');
const EAGER = /^(?:const|var|let|__exportStar\(|Object\.defineProperty|exports\.|\S).*?\brequire\("([^"]+)"\)/gm;
/** Every require, eager or inside a function (a lazy load some call may run). */
const ANY = /\brequire\(["']([^"']+)["']\)/g;

/**
 * Modules (paths under out/ without .js, or package names) evaluated by loading `entry`; with
 * `ANY`, every module a call through it may ever load.
 */
function eagerGraph(entry: string, requires: RegExp = EAGER): Set<string> {
  const seen = new Set<string>();
  const visit = (mod: string): void => {
    if (seen.has(mod)) return;
    seen.add(mod);
    if (!mod.includes('/') || !fs.existsSync(path.join(OUT, `${mod}.js`))) return;
    const src = fs.readFileSync(path.join(OUT, `${mod}.js`), 'utf8');
    for (const m of src.matchAll(requires)) {
      const spec = m[1]!;
      if (!spec.startsWith('.')) {
        seen.add(`pkg:${spec}`);
        continue;
      }
      const abs = path.relative(OUT, path.resolve(path.dirname(path.join(OUT, mod)), spec));
      const asDir = path.join(OUT, abs, 'index.js');
      visit(fs.existsSync(asDir) ? path.join(abs, 'index') : abs.replace(/\.json$/, '.json'));
    }
  };
  visit(entry);
  return seen;
}

const has = (g: Set<string>, re: RegExp): string[] => [...g].filter((m) => re.test(m));

test('VERSION (the multicall entry before any plugin loads) loads no fs, zod, netlink, netfilter or dispatcher', () => {
  const g = eagerGraph('plugins/multicall');
  assert.deepEqual(has(g, /pkg:(node:)?(fs|path|child_process)$|zod|netlink|netfilter|shared\/cni\/dispatch/), [], [...g].join(' '));
  for (const p of ['bridge', 'flannel', 'host-local', 'portmap']) {
    assert.deepEqual(has(eagerGraph(`plugins/${p}/main`), /zod|netlink|netfilter|shared\/cni\/dispatch|pkg:(node:)?fs$/), [], p);
  }
});

test('host-local loads no netlink codecs and no netfilter code', () => {
  const g = eagerGraph('plugins/host-local/plugin');
  assert.deepEqual(has(g, /netlink|netfilter|netns/), []);
});

test('no plugin loads the netlink barrel or daemon-only operations (vxlan, FDB, neighbours)', () => {
  for (const p of ['bridge', 'flannel', 'host-local', 'portmap']) {
    const g = eagerGraph(`plugins/${p}/plugin`);
    assert.deepEqual(has(g, /shared\/netlink\/(index|vxlan|fdb|neighbours|neigh-codec)$/), [], p);
  }
});

test('a portmap call loads the rule code of its own backend only', () => {
  // plugin.ts requires iptables-backend or nft-backend when a call needs it; neither requires the other's rules.
  assert.deepEqual(has(eagerGraph('plugins/portmap/plugin'), /plugins\/portmap\/(iptables|nft)-(backend|rules)$/), []);
  assert.deepEqual(has(eagerGraph('plugins/portmap/iptables-backend'), /plugins\/portmap\/nft-|shared\/netfilter\/nft$/), []);
  assert.deepEqual(has(eagerGraph('plugins/portmap/nft-backend'), /plugins\/portmap\/iptables-|shared\/netfilter\/restore$/), []);
  // The backend interfaces are types: nothing loads them.
  assert.deepEqual(has(eagerGraph('plugins/portmap/plugin'), /(portmap|netfilter)\/backend$/), []);
});

test('no call loads zod or a zod schema: the config validators are generated at build time', () => {
  // zod runs only in scripts/gen-validators.ts and the tests; a plugin loads the generated code.
  const forbidden = /zod|config-schema$|shared\/cni\/schema-refine$|scripts\//;
  for (const entry of ['plugins/multicall', ...['bridge', 'flannel', 'host-local', 'portmap'].map((p) => `plugins/${p}/main`)]) {
    const g = eagerGraph(entry, ANY);
    assert.deepEqual(has(g, forbidden), [], entry);
  }
  for (const p of ['bridge', 'flannel', 'host-local', 'portmap']) {
    assert.ok(eagerGraph(`plugins/${p}/main`, ANY).has(`plugins/${p}/config-validators.generated`), p);
  }
});

test('the graph reader sees what it should (a check of the test itself)', () => {
  const g = eagerGraph('plugins/bridge/plugin');
  assert.ok(g.has('shared/netlink/links') && g.has('pkg:node:path') && g.has('shared/netlink/socket'), [...g].join(' '));
  // A builtin imported at the top of a module is seen (the daemon's netlink monitor imports fs).
  assert.ok(eagerGraph('shared/netlink/monitor').has('pkg:fs'));
  assert.ok(eagerGraph('shared/netlink/index').has('shared/netlink/vxlan'));
  assert.ok(eagerGraph('plugins/portmap/iptables-backend').has('plugins/portmap/iptables-rules'));
  assert.ok(eagerGraph('plugins/portmap/nft-backend').has('plugins/portmap/nft-rules'));
  // Lazy loads are followed only when asked for: the plugins are required inside loaders.
  assert.ok(!eagerGraph('plugins/multicall').has('plugins/bridge/plugin'));
  assert.ok(eagerGraph('plugins/multicall', ANY).has('plugins/bridge/plugin'));
  // The test above fails on a plugin that loads zod (as every plugin did before issue 16).
  assert.ok(eagerGraph('scripts/gen-validators', ANY).has('pkg:zod'));
});

test('no plugin call loads node:fs or node:child_process eagerly (the standalone build uses the addon and Bun.spawnSync)', () => {
  for (const p of ['bridge', 'flannel', 'host-local', 'portmap']) {
    const g = eagerGraph(`plugins/${p}/plugin`);
    g.forEach((m) => eagerGraph(m).forEach((x) => g.add(x)));
    for (const entry of ['shared/cni/dispatch', 'shared/cni/stdin']) eagerGraph(entry).forEach((x) => g.add(x));
    assert.deepEqual(has(g, /^pkg:(node:)?(fs|child_process)$/), [], p);
  }
});
