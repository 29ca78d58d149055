/** Jest projects: fast unit tests, template checks (cfn-lint, checkov, sam build), the ffprobe layer, and integration tests on real local components. */
const transform = { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] };
const project = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  transform,
  testMatch: [`<rootDir>/tests/${name}/**/*.test.ts`],
  ...extra,
});

module.exports = {
  projects: [
    project('unit'),
    project('template'),
    project('layer'),
    project('integration'),
  ],
};
