// The `bun build` flags of the standalone plugin executable (scripts/build.sh, which bundles the
// TypeScript sources): the floors and the profile compile with exactly these, so ratios compare
// like with like.
export const PLUGIN_BUN_FLAGS: readonly string[] = [
  '--compile',
  '--bytecode',
  '--minify',
  '--format=cjs',
  '--no-compile-autoload-dotenv',
  '--no-compile-autoload-bunfig',
];

/** As the reports print them. */
export const PLUGIN_BUN_FLAGS_TEXT = `bun build ${PLUGIN_BUN_FLAGS.join(' ')}`;
