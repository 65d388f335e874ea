import type { Config } from 'jest';

// The package's own tests. Unit tests cover pure logic; everything under
// __tests__/e2e runs the built CLI and real Jest against real namespaces.
const config: Config = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '__tests__/tsconfig.json' }] },
  testMatch: ['<rootDir>/__tests__/**/*.test.ts'],
  globalSetup: '<rootDir>/__tests__/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/__tests__/helpers/global-teardown.ts',
  testTimeout: 60_000,
  // Fixture projects are run by the tests, never collected as tests of this package.
  modulePathIgnorePatterns: ['<rootDir>/fixtures/', '<rootDir>/dist/'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/fixtures/'],
};

export default config;
