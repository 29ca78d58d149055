/** Jest projects: fast unit tests, template checks (cfn-lint, checkov, sam build), the ffprobe layer, and integration tests on real local components. */
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true } }],
  // @middy/core ships ES modules only; Jest's CommonJS runtime needs them transpiled.
  '^.+/node_modules/@middy/.+\\.js$': ['ts-jest', { tsconfig: { isolatedModules: true, allowJs: true } }],
};
const project = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  testMatch: [`<rootDir>/tests/${name}/**/*.test.ts`],
  ...extra,
});

module.exports = {
  projects: [project('unit'), project('template'), project('layer'), project('integration')],
};
