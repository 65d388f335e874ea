// pnpm's strict layout, as a pnpm user gets it: `pnpm add` of the packed
// package and jest into a fresh project with `hoist: false`, so that from the
// project only `jest` and this package are visible, and Jest's own packages
// (jest-runner, jest-runtime, jest-environment-node…) are reachable only
// through Jest's dependency chain. pnpm itself comes from the npm registry,
// installed into the test's temporary folder, never globally.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, currentStage } from '../helpers/stage';
import { run, USERS } from '../helpers/run';

/** The pnpm the README's line is checked against; pinned so that a new pnpm cannot change the test's meaning unseen. */
const PNPM_VERSION = '12.23.0';
/** The README's one line for pnpm-workspace.yaml (pnpm >= 10.26). */
const ALLOW_BUILDS = "allowBuilds: { koffi: false, '@parcel/watcher': false }";

const TEST_FILE = `
const fs = require('fs');
const { sandbox } = require('jest-environment-mount-sandbox');

test('runs sandboxed from a pnpm strict layout', () => {
  expect(sandbox.active).toBe(true);
  fs.writeFileSync('/tmp/pnpm-strict.txt', 'inside');
  expect(fs.readFileSync('/tmp/pnpm-strict.txt', 'utf8')).toBe('inside');
});
`;

describe('a pnpm project with hoist: false', () => {
  let root: string;
  let project: string;
  let env: Record<string, string>;
  let addOutput: string;

  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mount-sandbox-stage-pnpm-'));
    fs.chmodSync(root, 0o755);
    const home = path.join(root, 'home');
    fs.mkdirSync(home);
    // pnpm keeps its store, cache and state under HOME and XDG folders: all inside the temporary folder.
    env = {
      PATH: `${path.join(root, 'pnpm', 'node_modules', '.bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: home,
      XDG_CACHE_HOME: path.join(home, '.cache'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_STATE_HOME: path.join(home, '.local', 'state'),
      XDG_CONFIG_HOME: path.join(home, '.config'),
      npm_config_cache: path.join(home, '.npm'),
    };
    execFileSync('npm', ['install', '--prefix', path.join(root, 'pnpm'), '--no-audit', '--no-fund', '--silent', `pnpm@${PNPM_VERSION}`], { env: { ...process.env, ...env }, stdio: 'pipe', timeout: 120_000 });

    const stage = currentStage();
    const tarball = fs.readdirSync(stage.root).find((name) => name.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`no packed tarball in the stage ${stage.root}`);
    project = path.join(root, 'project');
    fs.mkdirSync(project);
    fs.copyFileSync(path.join(stage.root, tarball), path.join(root, tarball));
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'pnpm-strict', private: true }));
    fs.writeFileSync(path.join(project, 'pnpm-workspace.yaml'), `hoist: false\n${ALLOW_BUILDS}\n`);
    const jestVersion = (JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', 'jest', 'package.json'), 'utf8')) as { version: string }).version;
    // Exits 1 with ERR_PNPM_IGNORED_BUILDS unless the line above covers every build script.
    addOutput = execFileSync('pnpm', ['add', '--save-dev', '--store-dir', path.join(root, 'store'), `../${tarball}`, `jest@${jestVersion}`], {
      cwd: project, env: { ...process.env, ...env }, encoding: 'utf8', stdio: 'pipe', timeout: 180_000,
    });
    fs.writeFileSync(path.join(project, 'jest.config.js'), "module.exports = { preset: 'jest-environment-mount-sandbox' };\n");
    fs.mkdirSync(path.join(project, '__tests__'));
    fs.writeFileSync(path.join(project, '__tests__', 'strict.test.js'), TEST_FILE);
    execFileSync('chmod', ['-R', 'a+rX', root]);
  }, 300_000);

  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  test('pnpm add succeeds with the README line, and the layout really is strict', () => {
    expect(fs.readFileSync(path.join(REPO, 'README.md'), 'utf8')).toContain(`\n  ${ALLOW_BUILDS}\n`);
    expect(addOutput).not.toMatch(/ERR_PNPM/);
    // Only the direct dependencies are visible from the project…
    expect(fs.readdirSync(path.join(project, 'node_modules')).filter((name) => !name.startsWith('.')).sort()).toEqual(['jest', 'jest-environment-mount-sandbox']);
    // …so Jest's own packages cannot be found from the project, nor from this package's folder.
    const packageDir = fs.realpathSync(path.join(project, 'node_modules', 'jest-environment-mount-sandbox'));
    const resolvable = (name: string, from: string): boolean => {
      try {
        execFileSync(process.execPath, ['-e', 'require.resolve(process.argv[1], { paths: [process.argv[2]] })', name, from], { stdio: 'pipe' });
        return true;
      } catch {
        return false;
      }
    };
    for (const from of [project, packageDir]) {
      expect(['jest', 'jest-runner', 'jest-runtime', 'jest-environment-node'].filter((name) => resolvable(name, from))).toEqual(['jest']);
    }
    // koffi's install script did not run: its prebuilt binary comes with the optional dependency for this platform.
    const koffi = fs.realpathSync(path.join(packageDir, '..', 'koffi'));
    expect(fs.readdirSync(path.join(koffi, '..', '@koromix'))).toEqual([`koffi-linux-${process.arch}`]);
  });

  test.each(USERS)('jest runs a sandboxed file as %s', async (user) => {
    if (user === 'nobody') execFileSync('chown', ['-R', '-h', '65534:65534', project]);
    const result = await run(user, [process.execPath, path.join(project, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci'], { cwd: project, timeoutMs: 120_000 });
    expect(result.stderr).toMatch(/Tests:\s+1 passed, 1 total/);
    expect(result.code).toBe(0);
    expect(fs.existsSync('/tmp/pnpm-strict.txt')).toBe(false);
  });
});
