/**
 * `npm run test:realstack`: Runwright's own OpenStack actions and runbooks against a real
 * OpenStack control plane started by `scripts/realstack up` (see docs/realstack.md). Not part of
 * `npm test` (jest.config.js ignores test/realstack).
 * @type {import('jest').Config}
 */
const main = require('./jest.config.js');

module.exports = {
  ...main,
  roots: ['<rootDir>/test/realstack'],
  testMatch: ['<rootDir>/test/realstack/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 300000,
};
