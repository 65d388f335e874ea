// `runner: 'jest-environment-mount-sandbox/runner'`
module.exports = require('./dist/host/runner.js');
