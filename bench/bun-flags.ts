// The `bun build` flags of the standalone plugin executable: scripts/bun-plugin-flags, which
// scripts/build.sh compiles with too, so the floors and the profile compare like with like.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const PLUGIN_BUN_FLAGS: readonly string[] = fs
  .readFileSync(path.resolve(__dirname, '../../scripts/bun-plugin-flags'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');

/** As the reports print them. */
export const PLUGIN_BUN_FLAGS_TEXT = `bun build ${PLUGIN_BUN_FLAGS.join(' ')}`;
