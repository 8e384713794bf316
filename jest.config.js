/** Jest in ESM mode (NestJS 12 ships ES modules); run through `node --experimental-vm-modules`. */

/** content-disposition, an ES module that @fastify/static requires (see transform). */
const CONTENT_DISPOSITION = '(@fastify/static/node_modules/)?content-disposition/';

export default {
  testEnvironment: 'node',
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.local/', '<rootDir>/cdk.out/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: { ignoreCodes: [151002] } }],
    // @fastify/static (the Swagger UI's assets) requires content-disposition, an ES module: Node 20
    // loads it with require(esm), Jest (before Node 24.9) only once it is compiled to CommonJS.
    [`/node_modules/${CONTENT_DISPOSITION}.+\\.js$`]: [
      'ts-jest',
      { useESM: false, tsconfig: { allowJs: true, module: 'commonjs', target: 'es2022' } },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!${CONTENT_DISPOSITION})`],
  testMatch: [
    '<rootDir>/src/**/*.spec.ts',
    '<rootDir>/scripts/**/*.spec.ts',
    '<rootDir>/tools/**/*.spec.ts',
    '<rootDir>/test/**/*.spec.ts',
    '<rootDir>/infra/**/*.spec.ts',
  ],
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 30000,
  // A guard, not a cure: a handle a test leaves open (a leaked child process holding a pipe) must not
  // hold the run past its end; the tests themselves check that what they start is gone.
  forceExit: true,
};
