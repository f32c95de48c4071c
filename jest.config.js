/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // test/realstack needs a real OpenStack (scripts/realstack up): `npm run test:realstack`;
  // test/prodstack the production-shaped Temporal stack (scripts/prodstack): `npm run test:prodstack`;
  // the CAPI lifecycle on the real Cluster API controllers (scripts/capi-binaries): `npm run test:capi`.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/realstack/', '<rootDir>/test/prodstack/', '<rootDir>/test/capi.test.ts', '<rootDir>/test/capi-crash.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // cel-js ships as ESM only; let swc turn it into CommonJS for jest's loader.
  // @kubernetes/client-node 1.x and these dependencies of it are ESM only too (Node itself loads them with require()).
  transformIgnorePatterns: ['/node_modules/(?!(@marcbachmann/cel-js|@kubernetes/client-node|openid-client|oauth4webapi|jose|jsonpath-plus|@jsep-plugin|rfc4648)/)'],
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
};
