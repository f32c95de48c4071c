/**
 * `npm run test:prodstack`: Runwright against the production-shaped Temporal stack of
 * `scripts/prodstack` (two real server processes on PostgreSQL, mTLS; docs/prodstack.md). Uses the
 * stack when it is up, else starts it and stops it again afterwards. Not part of `npm test`
 * (jest.config.js ignores test/prodstack).
 * @type {import('jest').Config}
 */
const main = require('./jest.config.js');

module.exports = {
  ...main,
  roots: ['<rootDir>/test/prodstack'],
  testMatch: ['<rootDir>/test/prodstack/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 300000,
  globalSetup: '<rootDir>/test/prodstack/global-setup.ts',
  globalTeardown: '<rootDir>/test/prodstack/global-teardown.ts',
};
