import base from './jest.config.js';

/**
 * `npm run test:unit` (and test:watch, test:cov): the specs beside the code, in seconds. No build
 * step and no Postgres: the component tests run dynalite in process; specs that need Postgres or
 * the compiled scripts are left to `npm test` / `npm run test:e2e`.
 */
export default {
  ...base,
  globalSetup: undefined,
  // Transpile only (no type check per file): `npm run typecheck` and `npm test` check the types.
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', isolatedModules: true, diagnostics: false }] },
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/tools/**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/src/users/users.service.spec.ts', '<rootDir>/tools/seed/demo-users.seed.spec.ts'],
  collectCoverageFrom: ['src/**/*.ts', '!src/**/*.spec.ts', '!src/main.ts', '!src/migrate.ts'],
  coverageProvider: 'v8',
};
