// ESLint for the whole repository: type-aware typescript-eslint rules for the packages'
// TypeScript (a floating promise or a promise passed where a callback is expected can
// end the host process, which spanprof must never do), ESLint's recommended rules for
// the JavaScript of tests, examples, benchmarks and the viewer page. Formatting is
// Prettier's (npm run format), so no stylistic rule is set here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/build/**', '**/dist/**', '**/node_modules/**', 'test/artifacts/**', 'scratch/**', '**/*.d.ts'],
  },
  {
    files: ['packages/*/src/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Wrapping a context manager or pprof's storage: the original methods are kept to be
    // called with their own receiver, the wrappers need both `this` values, and `arguments`
    // avoids a rest array on a path taken at every context switch.
    files: ['packages/core/src/ContextTracker.ts', 'packages/core/src/ContextStorage.ts', 'packages/core/src/pprofStorage.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-this-alias': 'off',
      'prefer-rest-params': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ignores: ['packages/cli/static/**'],
    extends: [js.configs.recommended],
    // Tests and benchmarks that drive the viewer in Chromium pass functions that run in the page.
    languageOptions: { globals: { ...globals.node, document: 'readonly', window: 'readonly' }, sourceType: 'commonjs' },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
  {
    files: ['**/*.mjs', 'eslint.config.mjs'],
    languageOptions: { sourceType: 'module' },
  },
  {
    files: ['packages/cli/static/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.browser, d3: 'readonly', flamegraph: 'readonly' }, sourceType: 'module' },
  },
);
