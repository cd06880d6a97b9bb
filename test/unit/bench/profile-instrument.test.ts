import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as vm from 'node:vm';
import { instrumentModule, runPhases, summarise, timingLineOf } from '../../../bench/profile-instrument';

test('instrumentModule marks a module and wraps package requires, not relative ones', () => {
  const src = '"use strict";\nconst fs = require("node:fs");\nconst x = require("./x");\nexports.a = 1;\n';
  const out = instrumentModule(src, 'shared/a', false);
  assert.ok(out.startsWith('"use strict";\n__cniProf.b("shared/a");\n'));
  assert.ok(out.includes('__cniProf.r("node:fs",()=>require("node:fs"))'));
  assert.ok(out.includes('require("./x")') && !out.includes('__cniProf.r("./x"'));
  assert.ok(out.trimEnd().endsWith('__cniProf.e("shared/a");'));
});

test('the instrumented code records self times with nested loads subtracted', () => {
  const entry = instrumentModule('"use strict";\nrequire("./a");\n', 'plugins/multicall', true);
  const a = instrumentModule('"use strict";\nrequire("pkg");\nfor (let i = 0; i < 1e5; i++);\n', 'shared/a', false);
  const mods: Record<string, string> = { './a': a };
  const sandbox: Record<string, unknown> = { performance, process: { exit: () => undefined, env: {} } };
  sandbox.globalThis = sandbox;
  const ctx = vm.createContext(sandbox);
  const req = (n: string): unknown => {
    if (n === 'pkg') return {};
    vm.runInContext(`(function(require){${mods[n]}})`, ctx)(req);
    return {};
  };
  vm.runInContext(`(function(require){${entry}})`, ctx)(req);
  const P = (ctx as { __cniProf: { mods: Record<string, { total: number; self: number }> } }).__cniProf;
  assert.deepEqual(Object.keys(P.mods).sort(), ['pkg:pkg', 'shared/a']);
  assert.ok(P.mods['shared/a']!.total >= P.mods['shared/a']!.self + P.mods['pkg:pkg']!.total - 1e-9);
  assert.equal(P.mods['plugins/multicall'], undefined, 'the entry is not timed as a module');
});

test('runPhases splits the wall time and summarise takes medians', () => {
  const rec = { origin: 1002, entry: 1004, exitCall: 1010, mods: { m: { total: 1, self: 0.5, depth: 0 } } };
  const line = timingLineOf('x\nCNI_TS_TIMING {"label":"l","phases":{"stdin":0.2}}\n');
  const r = runPhases(1000, 1011, rec, line);
  assert.deepEqual(r, { exec: 2, runtimeInit: 2, js: 6, modules: { m: 0.5 }, phases: { stdin: 0.2 }, exit: 1, wall: 11 });
  const s = summarise([r, { ...r, wall: 13, modules: {} }, { ...r, wall: 12 }]);
  assert.equal(s.fixed.wall, 12);
  assert.deepEqual(s.modules, [['m', 0.5]]);
});
