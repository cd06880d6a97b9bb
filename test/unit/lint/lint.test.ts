// The unit tier keeps the code lint-clean (ESLint, eslint.config.mjs) and free of dead exports
// (scripts/dead-exports.ts), so both stay that way (issue 16).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { deadExports } from '../../../scripts/dead-exports';

const ROOT = path.resolve(__dirname, '../../../..');

test('ESLint finds nothing', () => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/eslint/bin/eslint.js'), '.'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `eslint:\n${r.stdout}${r.stderr}`);
});

test('no dead exports in shared/, plugins/ and flanneld/', () => {
  assert.deepEqual(deadExports(), []);
});
