// The one Jest version check: which installs it refuses, and what it says.
import { isSandboxError } from '../../src/shared/errors';
import { checkJestVersions, SUPPORTED_JEST, type InstalledPackage } from '../../src/shared/jest-compat';

const runner = (version: string): InstalledPackage => ({ name: 'jest-runner', version, dir: '/p/node_modules/jest-runner' });
const environment = (version: string): InstalledPackage => ({ name: 'jest-environment-node', version, dir: '/p/node_modules/jest-environment-node' });

describe('checkJestVersions', () => {
  test.each(['29.0.0', '29.7.0', '30.0.0-alpha.6', '30.5.2', '31.0.0'])('Jest %s with its own environment passes', (version) => {
    expect(checkJestVersions(runner(version), environment(version))).toBeUndefined();
  });

  test.each(['27.5.1', '28.1.3'])('Jest %s is refused, naming the installed version, where it is, and the supported range', (version) => {
    const error = checkJestVersions(runner(version), environment(version));
    expect(isSandboxError(error)).toBe(true);
    expect(error?.kind).toBe('config');
    expect(error?.message).toBe(`Jest ${version} is installed (jest-runner in /p/node_modules/jest-runner), but jest-environment-mount-sandbox supports Jest ${SUPPORTED_JEST} (29 and 30 are tested), so no sandboxed file was run`);
    expect(error?.hint).toMatch(/npm install --save-dev jest@30 jest-environment-node@30/);
  });

  test('an environment of another major than Jest\'s is refused, with the version to install', () => {
    const error = checkJestVersions(runner('29.7.0'), environment('30.5.2'));
    expect(error?.message).toMatch(/^jest-environment-node 30\.5\.2 \(in \/p\/node_modules\/jest-environment-node\) does not belong to the installed Jest 29\.7\.0/);
    expect(error?.hint).toContain('npm install --save-dev jest-environment-node@29');
  });

  test('an unreadable version is let through, for Jest to report what breaks', () => {
    expect(checkJestVersions(runner('of unknown version'), environment('30.5.2'))).toBeUndefined();
  });

  test('the range matches package.json\'s peer dependencies', () => {
    const { peerDependencies } = require('../../package.json') as { peerDependencies: Record<string, string> };
    expect(peerDependencies).toEqual({ jest: '>=29.0.0' });
    expect(SUPPORTED_JEST).toBe('>=29');
  });
});
