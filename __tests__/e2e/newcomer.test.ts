// The acceptance as a newcomer would try it: pack the package, install it
// with jest into a fresh project, add the preset line, run `npx jest`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../helpers/stage';
import { run, USERS } from '../helpers/run';

const TEST_FILE = `
const fs = require('fs');
const { sandbox } = require('jest-environment-mount-sandbox');

test('writes succeed where a test expects them, and stay in the sandbox', () => {
  fs.writeFileSync('/tmp/newcomer.txt', 'hello');
  expect(fs.readFileSync('/tmp/newcomer.txt', 'utf8')).toBe('hello');
  fs.writeFileSync(__dirname + '/nope.txt', 'x');
  expect(() => fs.writeFileSync(require.resolve('jest-environment-mount-sandbox'), 'x')).toThrow(/EROFS/);
});

test('it really is sandboxed: the host is invisible', () => {
  expect(sandbox.active).toBe(true);
  expect(fs.existsSync(${JSON.stringify(REPO)})).toBe(false);
  expect(fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).length).toBeLessThan(6);
});
`;

describe('a fresh project with the packed package', () => {
  let project: string;

  beforeAll(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'mount-sandbox-stage-newcomer-'));
    fs.chmodSync(project, 0o755);
    const tarball = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', project], { cwd: REPO, encoding: 'utf8' }).trim().split('\n').pop() as string;
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'newcomer', private: true, scripts: { test: 'jest' } }));
    // The tarball's dependencies and jest come from npm's cache (filled by `npm ci`), or the registry.
    const jestVersion = (JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', 'jest', 'package.json'), 'utf8')) as { version: string }).version;
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', `./${tarball}`, `jest@${jestVersion}`], { cwd: project, stdio: 'pipe', timeout: 240_000 });
    fs.writeFileSync(path.join(project, 'jest.config.js'), "module.exports = { preset: 'jest-environment-mount-sandbox' };\n");
    fs.mkdirSync(path.join(project, '__tests__'));
    fs.writeFileSync(path.join(project, '__tests__', 'newcomer.test.js'), TEST_FILE);
    execFileSync('chmod', ['-R', 'a+rX', project]);
  }, 300_000);

  afterAll(() => {
    fs.rmSync(project, { recursive: true, force: true });
  });

  test.each(USERS)('npx jest passes as %s, sandboxed', async (user) => {
    // A newcomer owns their project (the overlay that makes it writable inside needs that).
    if (user === 'nobody') execFileSync('chown', ['-R', '-h', '65534:65534', project]);
    const result = await run(user, ['npx', '--no-install', 'jest', '--ci'], { cwd: project, env: { npm_config_cache: path.join(project, '.npm-cache') } });
    expect(result.stderr).toMatch(/Tests:\s+2 passed, 2 total/);
    expect(result.code).toBe(0);
    expect(fs.existsSync('/tmp/newcomer.txt')).toBe(false);
    expect(fs.existsSync(path.join(project, '__tests__', 'nope.txt'))).toBe(false);
  });
});
