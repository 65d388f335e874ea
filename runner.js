// `runner: 'jest-environment-mount-sandbox/runner'`
module.exports = require('./dist/jest/runner.js');
