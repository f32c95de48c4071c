/**
 * `npm run test:capi`: the Cluster API runbooks on the real controllers (core, kubeadm bootstrap
 * and control plane, the in-memory infrastructure provider) built by scripts/capi-binaries (a cold
 * build is ~20 min, so CI builds it in the background during `npm test` and runs these after).
 * Not part of `npm test`; test/capi-dry-run.test.ts (no controllers) is.
 * @type {import('jest').Config}
 */
const main = require('./jest.config.js');

module.exports = {
  ...main,
  testMatch: ['<rootDir>/test/capi.test.ts', '<rootDir>/test/capi-crash.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 600000,
};
