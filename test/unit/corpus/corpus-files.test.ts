// The bad-input corpus files are well-formed (no root needed; the netns tier runs them):
// known keys, a regular expression per case, placeholders that exist, enough cases per plugin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caseEnv, CORPUS_PLUGINS, loadCorpus, stdinBytes, type Vars } from '../../helpers/corpus';

const VARS: Vars = {
  STATE: '/s', NETNS: '/run/netns/c', NODE_NETNS: '/run/netns/n', CNI_PATH: '/opt/cni/bin',
  FILE: '/f', SUBNET_ENV: '/s/subnet.env', CANARY: '/tmp/cts-corpus-pwn-1-x', PID: '1',
};

test('corpus: at least 100 well-formed cases, every plugin covered, every case materialises', () => {
  const cases = loadCorpus();
  assert.ok(cases.length >= 100, `${cases.length} cases`);
  for (const p of CORPUS_PLUGINS) {
    const n = cases.filter((c) => c.plugin === p).length;
    assert.ok(n >= 20, `${p}: ${n} cases`);
  }
  for (const c of cases) {
    const env = caseEnv(c, VARS);
    assert.equal(typeof env.CNI_COMMAND, 'string');
    assert.ok(stdinBytes(c, VARS).length >= 0);
    assert.ok(c.code === 1 || c.code === 4 || c.code === 6 || c.code === 7 || c.code === 8 || c.code === 11 || c.code === 50 || c.code === 999, `${c.file} ${c.name}: code ${c.code}`);
  }
  const huge = cases.find((c) => (c.stdin as { generate?: string }).generate === 'huge')!;
  assert.ok(stdinBytes(huge, VARS).length >= 10 * 1024 * 1024);
  JSON.parse(stdinBytes({ ...huge, stdin: { generate: 'huge', bytes: 1000 } }, VARS).toString());
});
