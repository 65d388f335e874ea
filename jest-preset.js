// `preset: 'jest-environment-mount-sandbox'`: every test file in its own
// sandbox. Absolute paths, so that Jest cannot pick up a second copy.
module.exports = {
  runner: require.resolve('./runner.js'),
  testEnvironment: require.resolve('./dist/inside/environment.js'),
};
