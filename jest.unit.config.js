/**
 * The fast path: `npm run test:unit` runs test/unit/ only — the language, policies and the pure
 * parts of actions. No Temporal server, no test hosts, no Debian packages beyond a POSIX shell.
 * `npm test` runs these too, with everything else.
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
};
