// @ts-check
import eslint from '@eslint/js';
import eslintConfigPrettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The rules of a new Nest app (typescript-eslint's type-checked recommendations, Prettier for the
 * layout), plus what this code base needs: Node's and jest's globals, and plain JavaScript child
 * processes of the test suite linted without type information.
 */
export default tseslint.config(
  { ignores: ['dist/', 'cdk.out/', '.local/', 'coverage/', 'node_modules/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  eslintConfigPrettier,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.jest },
      sourceType: 'module',
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    rules: {
      // As in a new Nest app.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-floating-promises': 'warn',
      '@typescript-eslint/no-unsafe-argument': 'warn',
      // What this code base needs: parameters are part of a signature even when a body (a generated
      // stub, a fake) does not use them; `_`-prefixed variables are deliberately unused (a destructured
      // field left out); async functions without await satisfy Promise-returning contracts (stop
      // functions, fakes of async interfaces).
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests read untyped JSON (supertest's `res.body`, synthesized CloudFormation): asserting on it is their job.
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  { files: ['**/*.mjs', '**/*.js'], ...tseslint.configs.disableTypeChecked },
);
