// ESLint (flat config), run by the unit tier (test/unit/lint/lint.test.ts) and `npm run lint`.
// typescript-eslint's recommended rules without type information (fast: no program build).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'out-*/**', 'dist/**', 'dist-*/**', 'build/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Lazy loading is deliberate: `require` inside a function loads a module only when a call
      // needs it (start-up cost, issue 16).
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests and benchmarks read JSON the tools print (ip -j, nft -j, results) by ad-hoc paths.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
