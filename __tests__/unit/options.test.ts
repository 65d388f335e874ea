// The options compiler, table by table: every option's good and bad values,
// every bad-option case of fixtures/options-invalid (through the same path a
// Jest file takes), the two places where the old rulebooks disagreed, the
// docblock rule (what narrows, what widens, what the allowlist allows), the
// misplaced-option warnings, and envMode 'clean' in the planned environment.
// Pure logic on real temporary folders; nothing is launched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '@jest/types';
import { isSandboxError, type SandboxError } from '../../src/shared/errors';
import { cliOptionsOf } from '../../src/options/cli';
import { checkOptions } from '../../src/options/compile';
import { DEFAULTS } from '../../src/options/defaults';
import { fileOptionsOf, projectOptionsOf } from '../../src/options/jest';
import { misplacedOptions } from '../../src/options/misplaced';
import type { CheckedOptions } from '../../src/options/types';
import { planSandbox } from '../../src/host/plan';
import { DEFAULT_PROCESS_LIMIT, DEFAULT_ROOT_SIZE } from '../../src/host/defaults';
import type { SandboxSpec } from '../../src/shared/spec';
import { validateSpec } from '../../src/shared/validate';
import { FakeHost } from './fake-host';

const REPO = path.resolve(__dirname, '..', '..');
const AT = 'testEnvironmentOptions.sandbox';
const D = '@jest-environment-options sandbox';

// Made when the module loads: the tables below name paths in it.
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ms-options-unit-')));
let nextId = 0;

beforeAll(() => {
  fs.mkdirSync(path.join(root, 'data'));
  fs.mkdirSync(path.join(root, 'data', 'sub'));
  fs.writeFileSync(path.join(root, 'data', 'file.txt'), 'x');
  fs.writeFileSync(path.join(root, '.env'), 'SECRET=1');
  fs.symlinkSync('/', path.join(root, 'link-out'));
  fs.symlinkSync('data', path.join(root, 'link-in'));
  fs.symlinkSync('/run', path.join(root, 'link-to-run'));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): SandboxError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (!isSandboxError(thrown)) throw new Error(`expected a SandboxError, got ${String(thrown)}`);
  expect(thrown.kind).toBe('config');
  return thrown;
}

/** A Jest project config with a fresh id, so that the per-project cache never answers for another test. */
function projectConfig(sandbox: unknown, extra: Record<string, unknown> = {}): Config.ProjectConfig {
  nextId += 1;
  return { id: `unit-${nextId}`, rootDir: root, testEnvironmentOptions: { ...extra, ...(sandbox === undefined ? {} : { sandbox }) } } as unknown as Config.ProjectConfig;
}

function docblock(sandbox: unknown): Record<string, string> {
  return { 'jest-environment-options': JSON.stringify({ sandbox }) };
}

function fileOptions(project: unknown, file: unknown): CheckedOptions {
  return fileOptionsOf(projectConfig(project), docblock(file), path.join(root, 'a.test.js')).options;
}

describe('every option: good values are normalized', () => {
  test.each<[string, unknown, CheckedOptions]>([
    ['binds, the shorthand', { binds: ['data:/mnt/d'] }, { binds: [{ source: `${root}/data`, target: '/mnt/d' }] }],
    ['binds, without a target', { binds: ['<rootDir>/data'] }, { binds: [{ source: `${root}/data`, target: `${root}/data` }] }],
    ['binds, every field', { binds: [{ source: 'data', target: '/d', writable: true, propagation: 'slave', optional: false }] }, { binds: [{ source: `${root}/data`, target: '/d', writable: true, propagation: 'slave', optional: false }] }],
    ['binds, optional and missing', { binds: [{ source: 'nope', target: '/n', optional: true }] }, { binds: [{ source: `${root}/nope`, target: '/n', optional: true }] }],
    ['binds, privileged when allowed', { binds: [{ source: '/run', target: '/r', allowPrivileged: true }] }, { binds: [{ source: '/run', target: '/r', allowPrivileged: true }] }],
    ['tmpfs, the shorthand with a size', { tmpfs: ['/scratch:64m'] }, { tmpfs: [{ target: '/scratch', size: 64 * 1024 ** 2 }] }],
    ['tmpfs, an object with bytes', { tmpfs: [{ target: '/t/', size: 4096 }] }, { tmpfs: [{ target: '/t', size: 4096 }] }],
    ['tmpfs at /dev/shm (sizing shared memory)', { tmpfs: ['/dev/shm:128m'] }, { tmpfs: [{ target: '/dev/shm', size: 128 * 1024 ** 2 }] }],
    ['rootSize', { rootSize: '2g' }, { rootSize: 2 * 1024 ** 3 }],
    ['fixtures', { fixtures: { '/srv': 'data' } }, { fixtures: { '/srv': `${root}/data` } }],
    ['project', { project: 'readonly' }, { project: 'readonly' }],
    ['env', { env: { A: '1', B: null, C: '' } }, { env: { A: '1', B: null, C: '' } }],
    ['envMode', { envMode: 'clean' }, { envMode: 'clean' }],
    ['home', { home: '/home/ci' }, { home: '/home/ci' }],
    ['network', { network: 'none' }, { network: 'none' }],
    ['uid', { uid: 'root' }, { uid: 'root' }],
    ['hostname', { hostname: 'build-01.example' }, { hostname: 'build-01.example' }],
    ['hide, relative and <rootDir>', { hide: ['.env', '<rootDir>/data/sub'] }, { hide: [`${root}/.env`, `${root}/data/sub`] }],
    ['processLimit', { processLimit: 16 }, { processLimit: 16 }],
    ['fileTimeout, 0 for none', { fileTimeout: 0 }, { fileTimeout: 0 }],
    ['docblock.allow', { docblock: { allow: ['binds', 'network'] } }, { docblock: { allow: ['binds', 'network'] } }],
    ['docblock without allow', { docblock: {} }, { docblock: { allow: [] } }],
    ['nothing', undefined, {}],
  ])('%s', (_name, raw, expected) => {
    expect(checkOptions(raw, AT, root)).toEqual(expected);
  });
});

describe('every option: bad values name the option path and what was expected', () => {
  test.each<[string, unknown, string, string]>([
    ['not an object', 'network none', AT, 'expected an object of sandbox options, got "network none" (string)'],
    ['an unknown option, with the nearest', { netwrok: 'none' }, `${AT}.netwrok`, 'unknown option; did you mean "network"?'],
    ['binds not an array', { binds: 'x' }, `${AT}.binds`, 'expected an array, got "x" (string)'],
    ['a bind that is a number', { binds: [42] }, `${AT}.binds[0]`, 'expected "SRC[:DST]" or {source, target?, writable?}, got 42 (number)'],
    ['a bind with an unknown key', { binds: [{ source: 'data', writeable: true }] }, `${AT}.binds[0].writeable`, 'did you mean "writable"?'],
    ['a bind with a relative target', { binds: [{ source: 'data', target: 'mnt' }] }, `${AT}.binds[0].target`, 'got relative "mnt"'],
    ['a bind string whose source has a colon', { binds: ['a:b:/mnt'] }, `${AT}.binds[0].target`, 'after the first ":", got "b:/mnt"'],
    ['a bind target under /proc', { binds: ['data:/proc/x'] }, `${AT}.binds[0].target`, 'destination /proc/x is under /proc, which the sandbox builds itself'],
    ['a bind target with ..', { binds: ['data:/mnt/../etc'] }, `${AT}.binds[0].target`, 'contains ".."'],
    ['a missing bind source', { binds: ['nope:/n'] }, `${AT}.binds[0].source`, `bind source ${root}/nope does not exist`],
    ['a bind with writable not a boolean', { binds: [{ source: 'data', target: '/d', writable: 'yes' }] }, `${AT}.binds[0].writable`, 'expected true or false, got "yes" (string)'],
    ['a bind with propagation shared', { binds: [{ source: 'data', target: '/d', propagation: 'shared' }] }, `${AT}.binds[0].propagation`, 'expected one of "private", "slave"'],
    ['a read-only slave bind', { binds: [{ source: 'data', target: '/d', propagation: 'slave' }] }, `${AT}.binds[0].propagation`, 'cannot be kept read-only'],
    ['<rootDir> in the middle', { binds: ['data/<rootDir>:/d'] }, `${AT}.binds[0].source`, '<rootDir> may only start the path'],
    ['a bind without a target whose source cannot be a destination', { binds: ['/proc'] }, `${AT}.binds[0].source`, 'with no target, the source is also the destination, and destination /proc is under /proc'],
    ['a privileged source', { binds: ['/root:/r'] }, `${AT}.binds[0].source`, 'the source /root is under /root'],
    ['a privileged target', { binds: ['data:/boot/x'] }, `${AT}.binds[0].target`, 'the target /boot/x is under /boot'],
    ['a runtime socket', { binds: [{ source: '/var/run/docker.sock', target: '/s', optional: true }] }, `${AT}.binds[0].source`, 'a container runtime socket'],
    ['a privileged tree through a symlink in the project', { binds: ['link-to-run:/r'] }, `${AT}.binds[0].source`, `${root}/link-to-run (really /run) is under /run`],
    ['tmpfs not an array', { tmpfs: '/t' }, `${AT}.tmpfs`, 'expected an array'],
    ['a tmpfs at /', { tmpfs: ['/'] }, `${AT}.tmpfs[0].target`, 'cannot be /'],
    ['a tmpfs under /dev', { tmpfs: ['/dev/mine'] }, `${AT}.tmpfs[0].target`, 'destination /dev/mine is under /dev'],
    ['a tmpfs under /dev/shm', { tmpfs: ['/dev/shm/x'] }, `${AT}.tmpfs[0].target`, 'destination /dev/shm/x is under /dev'],
    ['a tmpfs size 12x', { tmpfs: ['/t:12x'] }, `${AT}.tmpfs[0].size`, 'got "12x" (string)'],
    ['a negative tmpfs size', { tmpfs: [{ target: '/t', size: -5 }] }, `${AT}.tmpfs[0].size`, 'got -5 (number)'],
    ['rootSize true', { rootSize: true }, `${AT}.rootSize`, 'expected a positive size'],
    ['rootSize 0', { rootSize: 0 }, `${AT}.rootSize`, 'got 0 (number)'],
    ['fixtures not an object', { fixtures: ['data'] }, `${AT}.fixtures`, 'expected an object mapping sandbox paths to host directories'],
    ['a missing fixture source', { fixtures: { '/t': 'nope' } }, `${AT}.fixtures["/t"]`, `fixture source ${root}/nope does not exist`],
    ['a fixture that is a file', { fixtures: { '/t': 'data/file.txt' } }, `${AT}.fixtures["/t"]`, 'is not a directory'],
    ['project rw', { project: 'rw' }, `${AT}.project`, 'expected one of "overlay", "readonly", "writable", got "rw"'],
    ['env not an object', { env: ['A=1'] }, `${AT}.env`, 'expected an object of variables'],
    ['an env value that is a number', { env: { PORT: 8080 } }, `${AT}.env.PORT`, 'expected a string, or null to unset, got 8080 (number)'],
    ['an env name with =', { env: { 'A=B': 'x' } }, `${AT}.env`, 'invalid variable name "A=B"'],
    ['an env name sh would drop', { env: { 'B C': 'x' } }, `${AT}.env`, 'invalid variable name "B C": a name is letters, digits and underscores, not starting with a digit (sh, which starts every command in the sandbox, drops any other)'],
    ['an env name starting with a digit', { env: { '1X': 'x' } }, `${AT}.env`, 'invalid variable name "1X"'],
    ['envMode strict', { envMode: 'strict' }, `${AT}.envMode`, 'expected one of "inherit", "clean"'],
    ['home relative', { home: 'home/me' }, `${AT}.home`, 'got relative "home/me"'],
    ['network off', { network: 'off' }, `${AT}.network`, 'expected one of "host", "none", got "off"'],
    ['uid admin', { uid: 'admin' }, `${AT}.uid`, 'expected one of "same", "root", got "admin"'],
    ['a hostname with a space', { hostname: 'my host' }, `${AT}.hostname`, 'expected letters, digits, dots and dashes (at most 63)'],
    ['a hostname of 64 characters', { hostname: 'x'.repeat(64) }, `${AT}.hostname`, 'at most 63'],
    ['hide not an array', { hide: '.env' }, `${AT}.hide`, 'expected an array of paths'],
    ['a hide under /proc', { hide: ['/proc/self/environ'] }, `${AT}.hide[0]`, 'destination /proc/self/environ is under /proc'],
    ['processLimit 15', { processLimit: 15 }, `${AT}.processLimit`, 'expected a whole number of at least 16, got 15'],
    ['processLimit 1.5', { processLimit: 100.5 }, `${AT}.processLimit`, 'got 100.5'],
    ['fileTimeout negative', { fileTimeout: -1 }, `${AT}.fileTimeout`, 'expected a whole number of milliseconds (0 for none), got -1'],
    ['docblock not an object', { docblock: ['binds'] }, `${AT}.docblock`, 'expected {allow: [option names]}'],
    ['docblock.allow with an unknown name', { docblock: { allow: ['bind'] } }, `${AT}.docblock.allow[0]`, 'unknown option name "bind" (string); did you mean "binds"?'],
    ['docblock.allow naming an option that never needs it', { docblock: { allow: ['tmpfs'] } }, `${AT}.docblock.allow[0]`, '"tmpfs" needs no allowance'],
    ['docblock.allow not an array', { docblock: { allow: 'binds' } }, `${AT}.docblock.allow`, 'expected an array of option names'],
    ['docblock with an unknown key', { docblock: { allowed: [] } }, `${AT}.docblock.allowed`, 'did you mean "allow"?'],
    ['two binds at one target', { binds: ['data:/same', 'data/sub:/same'] }, `${AT}.binds[1].target`, `target /same is already used by ${AT}.binds[0].target`],
    ['a bind and a tmpfs at one target', { binds: ['data:/both'], tmpfs: ['/both'] }, `${AT}.tmpfs[0].target`, `already used by ${AT}.binds[0].target`],
    ['a fixture and a tmpfs at one target', { tmpfs: ['/both'], fixtures: { '/both': 'data' } }, `${AT}.fixtures["/both"]`, `already used by ${AT}.tmpfs[0].target`],
  ])('%s', (_name, raw, field, fragment) => {
    const error = errorOf(() => checkOptions(raw, AT, root));
    expect(error.field).toBe(field);
    expect(error.message).toBe(`${field}: ${error.message.slice(field.length + 2)}`);
    expect(error.message).toContain(fragment);
  });

  test('every problem is reported in one error, each on its own line', () => {
    const error = errorOf(() => checkOptions({ netwrok: 'none', network: 'off', binds: ['nope:/a', 'data:/proc/x', 'data:/ok'], processLimit: 1 }, AT, root));
    expect(error.message.split('\n')).toEqual([
      '5 problems with the sandbox options:',
      `  - ${AT}.netwrok: unknown option; did you mean "network"? Known options: binds, tmpfs, rootSize, fixtures, project, env, envMode, home, network, uid, hostname, hide, processLimit, fileTimeout, docblock`,
      `  - ${AT}.binds[0].source: bind source ${root}/nope does not exist (create it, fix the path, or set optional: true)`,
      `  - ${AT}.binds[1].target: destination /proc/x is under /proc, which the sandbox builds itself (pick a path outside /proc, /sys, /dev (a tmpfs at /dev/shm is the one exception))`,
      `  - ${AT}.network: expected one of "host", "none", got "off" (string)`,
      `  - ${AT}.processLimit: expected a whole number of at least 16, got 1 (number)`,
    ]);
  });
});

describe('the bad-option cases of fixtures/options-invalid, through the path a Jest file takes', () => {
  const FIXTURE = path.join(REPO, 'fixtures', 'options-invalid');
  // Each case's file, and the field its error must name.
  const EXPECTED: Record<string, string> = {
    '01-binds-not-array': `${D}.binds`, '02-root-size-boolean': `${D}.rootSize`, '03-unknown-key-bind': `${D}.bind`,
    '04-unknown-key-netwrok': `${D}.netwrok`, '05-unknown-bind-key': `${D}.binds[0].writeable`, '06-relative-target': `${D}.binds[0].target`,
    '07-target-under-proc': `${D}.binds[0].target`, '08-tmpfs-under-dev': `${D}.tmpfs[0].target`, '09-missing-source': `${D}.binds[0].source`,
    '10-same-target-twice': `${D}.binds[1].writable`, '11-bind-and-tmpfs-same-target': `${D}.tmpfs[0].target`, '12-size-12x': `${D}.tmpfs[0].size`,
    '13-size-zero': `${D}.rootSize`, '14-invalid-json': '@jest-environment-options', '15-network-off': `${D}.network`, '16-uid-admin': `${D}.uid`,
    '17-project-rw': `${D}.project`, '18-env-not-string': `${D}.env.PORT`, '19-hostname-space': `${D}.hostname`,
    '20-privileged-proc-sys': `${D}.binds[0].source`, '21-privileged-root': `${D}.binds[0].source`, '22-privileged-run': `${D}.binds[0].source`,
    '23-privileged-docker-sock': `${D}.binds[0].source`, '24-privileged-target-boot': `${D}.binds[0].target`, '25-overlap-with-project-bind': `${D}.tmpfs[0].target`,
    '26-bind-not-object': `${D}.binds[0]`, '27-propagation-shared': `${D}.binds[0].propagation`, '28-root-dir-in-the-middle': `${D}.binds[0].source`,
    '29-options-twice': '@jest-environment-options', '30-fixtures-missing-source': `${D}.fixtures["/target"]`, '31-home-relative': `${D}.home`,
    '32-env-bad-name': `${D}.env`, '33-hide-under-proc': `${D}.hide[0]`, '34-sandbox-not-object': D, '35-tmpfs-at-root': `${D}.tmpfs[0].target`,
    '36-size-negative': `${D}.tmpfs[0].size`, '37-writable-not-boolean': `${D}.binds[0].writable`, '38-target-dot-dot': `${D}.binds[0].target`,
    '39-slave-read-only': `${D}.binds[0].propagation`, '40-privileged-via-var-run-symlink': `${D}.binds[0].source`, '41-privileged-via-project-symlink': `${D}.binds[0].source`,
  };
  const docblockModule = require('jest-docblock') as { extract(text: string): string; parse(block: string): Record<string, string | string[]> };
  const cases = fs.readdirSync(path.join(FIXTURE, 'cases')).filter((f) => f.endsWith('.test.js')).map((f) => f.replace(/\.test\.js$/, ''));
  let config: Config.ProjectConfig;

  beforeAll(() => {
    // The fixture's own config, at a copy of the fixture (with the symlink the e2e test adds).
    const copy = fs.mkdtempSync(path.join(root, 'options-invalid-'));
    fs.cpSync(FIXTURE, copy, { recursive: true });
    fs.symlinkSync('/run', path.join(copy, 'link-to-run'));
    const sandbox = (require(path.join(copy, 'jest.config.js')) as { testEnvironmentOptions: { sandbox: unknown } }).testEnvironmentOptions.sandbox;
    nextId += 1;
    config = { id: `unit-invalid-${nextId}`, rootDir: copy, testEnvironmentOptions: { sandbox } } as unknown as Config.ProjectConfig;
  });

  test('every case file has an expectation, and there are at least the 38 of the issue', () => {
    expect(cases.filter((name) => name !== '00-valid-control').sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(Object.keys(EXPECTED).length).toBeGreaterThanOrEqual(38);
  });

  test('the valid control is accepted', () => {
    const text = fs.readFileSync(path.join(FIXTURE, 'cases', '00-valid-control.test.js'), 'utf8');
    expect(fileOptionsOf(config, docblockModule.parse(docblockModule.extract(text)), '00-valid-control.test.js').options.hostname).toBe('valid-control');
  });

  test.each(Object.keys(EXPECTED))('%s', (name) => {
    const text = fs.readFileSync(path.join(FIXTURE, 'cases', `${name}.test.js`), 'utf8');
    const pragmas = docblockModule.parse(docblockModule.extract(text));
    const error = errorOf(() => fileOptionsOf(config, pragmas, `${name}.test.js`));
    expect(error.field).toBe(EXPECTED[name]);
  });
});

describe('the two disagreements of the old rulebooks, now one answer', () => {
  /** Whether the options accept a tmpfs at `target`, and whether the engine accepts the op it becomes. */
  function answers(target: string): [boolean, boolean] {
    let options = true;
    try {
      checkOptions({ tmpfs: [`${target}:128m`] }, AT, root);
    } catch {
      options = false;
    }
    const spec: SandboxSpec = { rootSize: 1, processLimit: 16, uid: 'same', network: 'host', cwd: '/', env: {}, mounts: [{ type: 'tmpfs', dest: target, size: 128 * 1024 ** 2, role: 'user' }] };
    let engine = true;
    try {
      validateSpec(spec);
    } catch {
      engine = false;
    }
    return [options, engine];
  }

  test.each<[string, boolean]>([
    ['/dev/shm', true],
    ['/dev/shm/x', false],
    ['/dev/mine', false],
    ['/proc/x', false],
    ['/sys', false],
    ['/scratch', true],
  ])("tmpfs: ['%s:128m'] gets the same answer from the options and from the engine", (target, accepted) => {
    expect(answers(target)).toEqual([accepted, accepted]);
  });

  test('the CLI merges --config with --config-json and checks the result: a bind and a tmpfs on one target fail there as under Jest', () => {
    const file = path.join(root, 'cli-config.json');
    fs.writeFileSync(file, JSON.stringify({ binds: ['data:/mnt/x'] }));
    const cli = errorOf(() => cliOptionsOf({ configFile: file, configJson: JSON.stringify({ tmpfs: ['/mnt/x'] }), hide: [] }, root));
    expect(cli.field).toBe('--config-json.tmpfs[0].target');
    expect(cli.message).toContain(`target /mnt/x is already used by --config ${file}.binds[0].target`);
    const jest = errorOf(() => fileOptions({ binds: ['data:/mnt/x'] }, { tmpfs: ['/mnt/x'] }));
    expect(jest.field).toBe(`${D}.tmpfs[0].target`);
    expect(jest.message).toContain(`target /mnt/x is already used by ${AT}.binds[0].target`);
  });

  test('the CLI checks each source with the same rules, every problem at once, and lists add up', () => {
    const error = errorOf(() => cliOptionsOf({ configJson: JSON.stringify({ network: 'off', tmpfs: ['/dev/mine'] }), hide: ['/proc/x'] }, root));
    expect(error.message).toContain('3 problems');
    expect(error.message).toContain('--config-json.network: expected one of "host", "none"');
    expect(error.message).toContain('--config-json.tmpfs[0].target: destination /dev/mine is under /dev');
    expect(error.message).toContain('--hide /proc/x: destination /proc/x is under /proc');
    const merged = cliOptionsOf({ configJson: JSON.stringify({ hide: ['.env'], network: 'none' }), projectMode: 'overlay', hide: [`${root}/data/sub`] }, root);
    expect(merged.options).toEqual({ hide: [`${root}/.env`, `${root}/data/sub`], network: 'none', project: 'overlay' });
    expect(merged.origins.hide).toEqual(['--config-json.hide[0]', `--hide ${root}/data/sub`]);
    expect(merged.origins.scalars.project).toBe('--project-mode');
  });

  test('a --config file that cannot be read or parsed is named', () => {
    expect(errorOf(() => cliOptionsOf({ configFile: path.join(root, 'nope.json'), hide: [] }, root)).message).toMatch(/^--config .*nope\.json: cannot read the file/);
    expect(errorOf(() => cliOptionsOf({ configJson: '{network:', hide: [] }, root)).message).toMatch(/^--config-json: invalid JSON/);
  });
});

describe('the docblock rule: a file may only narrow what its config gives', () => {
  // [what, the config's sandbox options, the docblock's, the field the failure names (undefined: allowed)]
  const CASES: Array<[string, unknown, unknown, string | undefined]> = [
    // Narrowing: always allowed.
    ['a read-only bind inside the project', {}, { binds: ['data:/mnt/d'] }, undefined],
    ['a read-only bind through a symlink that stays inside', {}, { binds: ['link-in:/mnt/d'] }, undefined],
    ['an optional bind whose source is missing', {}, { binds: [{ source: 'nope', target: '/n', optional: true }] }, undefined],
    ['a tmpfs', {}, { tmpfs: ['/scratch:1m', '/dev/shm:256m'] }, undefined],
    ['a hide', { hide: ['.env'] }, { hide: ['data/sub'] }, undefined],
    ['an empty hide (which cannot drop the config\'s)', { hide: ['.env'] }, { hide: [] }, undefined],
    ['network none over host', {}, { network: 'none' }, undefined],
    ['network none over none', { network: 'none' }, { network: 'none' }, undefined],
    ['project readonly over the default overlay', {}, { project: 'readonly' }, undefined],
    ['project overlay over the default overlay', {}, { project: 'overlay' }, undefined],
    ['project readonly over writable', { project: 'writable' }, { project: 'readonly' }, undefined],
    ['a lower processLimit', {}, { processLimit: 64 }, undefined],
    ['the same processLimit', { processLimit: 256 }, { processLimit: 256 }, undefined],
    ['a lower fileTimeout', {}, { fileTimeout: 3000 }, undefined],
    ['a fileTimeout where the config has none', { fileTimeout: 0 }, { fileTimeout: 5000 }, undefined],
    ['a lower rootSize', {}, { rootSize: '2m' }, undefined],
    ['a tmpfs as large as the config\'s root', { rootSize: '64m' }, { tmpfs: ['/scratch:64m'] }, undefined],
    ['tmpfs mounts that together fit in the config\'s root', { rootSize: '64m' }, { tmpfs: ['/a:32m', '/b:32m'] }, undefined],
    ['two unsized tmpfs mounts in a file that halves its root', { rootSize: '64m' }, { rootSize: '32m', tmpfs: ['/a', '/b'] }, undefined],
    ['uid same', { uid: 'root' }, { uid: 'same' }, undefined],
    ['envMode clean', {}, { envMode: 'clean' }, undefined],
    ['env (values the file knows anyway)', { env: { SECRET: null } }, { env: { SECRET: 'its own', A: '1' } }, undefined],
    ['home (a fresh, empty directory)', {}, { home: '/home/other' }, undefined],
    ['hostname (a UTS namespace of its own)', {}, { hostname: 'box' }, undefined],
    // Widening: refused, naming the option.
    ['a writable bind', {}, { binds: [{ source: 'data', target: '/d', writable: true }] }, `${D}.binds[0].writable`],
    ['a bind of / at /hostroot', {}, { binds: [{ source: '/', target: '/hostroot' }] }, `${D}.binds[0].source`],
    ['a bind outside the project', {}, { binds: ['..:/mnt/up'] }, `${D}.binds[0].source`],
    ['a bind through a symlink in the project that points out', {}, { binds: ['link-out:/mnt/o'] }, `${D}.binds[0].source`],
    ['a bind of a hidden file', { hide: ['.env'] }, { binds: ['.env:/mnt/env'] }, `${D}.binds[0].source`],
    ['a bind of a folder holding a hidden file', { hide: ['data/sub'] }, { binds: ['data:/mnt/d'] }, `${D}.binds[0].source`],
    ['a slave bind', {}, { binds: [{ source: 'data', target: '/d', writable: true, propagation: 'slave' }] }, `${D}.binds[0].writable`],
    ['allowPrivileged', {}, { binds: [{ source: 'data', target: '/d', allowPrivileged: true }] }, `${D}.binds[0].allowPrivileged`],
    ['fixtures', {}, { fixtures: { '/srv': 'data' } }, `${D}.fixtures`],
    ['project writable over the default overlay', {}, { project: 'writable' }, `${D}.project`],
    ['project overlay over readonly', { project: 'readonly' }, { project: 'overlay' }, `${D}.project`],
    ['network host over none', { network: 'none' }, { network: 'host' }, `${D}.network`],
    ['uid root', {}, { uid: 'root' }, `${D}.uid`],
    ['a higher processLimit', {}, { processLimit: DEFAULT_PROCESS_LIMIT + 1 }, `${D}.processLimit`],
    ['a higher rootSize', {}, { rootSize: DEFAULT_ROOT_SIZE * 2 }, `${D}.rootSize`],
    ['a tmpfs larger than the config\'s root', { rootSize: '64m' }, { tmpfs: ['/ok:1m', '/scratch:65m'] }, `${D}.tmpfs`],
    ['many tmpfs mounts, each within the config\'s root, together above it', { rootSize: '16m' }, { tmpfs: Array.from({ length: 40 }, (_, i) => `/big${i}:16m`) }, `${D}.tmpfs`],
    ['two unsized tmpfs mounts (each the root\'s size)', { rootSize: '16m' }, { tmpfs: ['/a', '/b'] }, `${D}.tmpfs`],
    ['a higher fileTimeout', { fileTimeout: 1000 }, { fileTimeout: 2000 }, `${D}.fileTimeout`],
    ['fileTimeout 0 (none)', {}, { fileTimeout: 0 }, `${D}.fileTimeout`],
    ['envMode inherit over clean', { envMode: 'clean' }, { envMode: 'inherit' }, `${D}.envMode`],
    ['an allowlist of its own', {}, { docblock: { allow: ['binds'] } }, `${D}.docblock`],
  ];

  test.each(CASES)('%s', (_name, project, file, field) => {
    if (field === undefined) {
      expect(() => fileOptions(project, file)).not.toThrow();
      return;
    }
    const error = errorOf(() => fileOptions(project, file));
    expect(error.field).toBe(field);
    expect(error.message).toContain('a docblock may');
    // Where it is allowed: the hint names the Jest config.
    expect(error.hint ?? error.message).toMatch(/testEnvironmentOptions\.sandbox/);
  });

  test.each<[string, unknown, unknown, string]>([
    ['binds', { docblock: { allow: ['binds'] } }, { binds: [{ source: '/', target: '/hostroot', writable: true }] }, 'binds'],
    ['fixtures', { docblock: { allow: ['fixtures'] } }, { fixtures: { '/srv': 'data' } }, 'fixtures'],
    ['project', { project: 'readonly', docblock: { allow: ['project'] } }, { project: 'writable' }, 'project'],
    ['network', { network: 'none', docblock: { allow: ['network'] } }, { network: 'host' }, 'network'],
    ['uid', { docblock: { allow: ['uid'] } }, { uid: 'root' }, 'uid'],
    ['processLimit', { docblock: { allow: ['processLimit'] } }, { processLimit: 5000 }, 'processLimit'],
    ['fileTimeout', { docblock: { allow: ['fileTimeout'] } }, { fileTimeout: 0 }, 'fileTimeout'],
    ['rootSize', { docblock: { allow: ['rootSize'] } }, { rootSize: '4g' }, 'rootSize'],
    ['envMode', { envMode: 'clean', docblock: { allow: ['envMode'] } }, { envMode: 'inherit' }, 'envMode'],
  ])('docblock.allow: [%j] lets files widen that option, and only that one', (_name, project, file, option) => {
    expect(() => fileOptions(project, file)).not.toThrow();
    // Another widening in the same docblock still fails: uid root (or, where uid is allowed, a higher processLimit).
    const other = option === 'uid' ? { processLimit: 5000 } : { uid: 'root' };
    const error = errorOf(() => fileOptions(project, { ...(file as object), ...other }));
    expect(error.field).toBe(option === 'uid' ? `${D}.processLimit` : `${D}.uid`);
  });

  test('a bind of what a config mount covers inside the project is refused: under a tmpfs, or under a bind laid over it', () => {
    expect(errorOf(() => fileOptions({ tmpfs: [`${root}/data`] }, { binds: ['data/sub:/mnt/s'] })).message).toContain(`would show ${root}/data, which ${AT}.tmpfs[0] covers`);
    expect(errorOf(() => fileOptions({ binds: [`data/sub:${root}/data`] }, { binds: ['data:/mnt/d'] })).message).toContain(`which ${AT}.binds[0] covers`);
    expect(() => fileOptions({ tmpfs: [`${root}/data/sub`] }, { binds: ['.env:/mnt/env'] })).not.toThrow();
  });

  test('a failure says why, and where it is allowed', () => {
    const error = errorOf(() => fileOptions({ network: 'none' }, { network: 'host' }));
    expect(error.message).toBe(`${D}.network: a docblock may only narrow the sandbox: "host" would give the file the host's network, which the config turns off`);
    expect(error.hint).toBe(`set it in ${AT} instead, or let every file do it with ${AT}.docblock: { allow: ['network'] }`);
  });

  test('lists from a docblock add to the config\'s, env merges by name, scalars replace; each entry keeps its origin', () => {
    const merged = fileOptionsOf(projectConfig({ binds: ['data:/a'], tmpfs: ['/t1'], hide: ['.env'], env: { A: '1', SECRET: null }, hostname: 'config' }),
      docblock({ binds: ['data/sub:/b'], tmpfs: ['/t2'], hide: ['data/sub'], env: { B: '2' }, hostname: 'file' }), path.join(root, 'x.test.js'));
    expect(merged.options).toEqual({
      binds: [{ source: `${root}/data`, target: '/a' }, { source: `${root}/data/sub`, target: '/b' }],
      tmpfs: [{ target: '/t1' }, { target: '/t2' }],
      hide: [`${root}/.env`, `${root}/data/sub`],
      env: { A: '1', SECRET: null, B: '2' },
      hostname: 'file',
    });
    expect(merged.origins.binds).toEqual([`${AT}.binds[0]`, `${D}.binds[0]`]);
    expect(merged.origins.hide).toEqual([`${AT}.hide[0]`, `${D}.hide[0]`]);
    expect(merged.origins.scalars.hostname).toBe(`${D}.hostname`);
  });

  test('shape problems and widening are reported together', () => {
    const error = errorOf(() => fileOptions({ network: 'none' }, { network: 'host', processLimit: 'many', binds: [{ source: 'data', target: '/d', writable: true }] }));
    expect(error.message.split('\n').slice(1).map((line) => line.replace(/:.*/, ''))).toEqual([
      `  - ${D}.processLimit`, `  - ${D}.binds[0].writable`, `  - ${D}.network`,
    ]);
  });

  test('the docblock itself: one JSON object, or the file fails', () => {
    const config = projectConfig({});
    expect(errorOf(() => fileOptionsOf(config, { 'jest-environment-options': ['{}', '{}'] }, 'a.test.js')).field).toBe('@jest-environment-options');
    expect(errorOf(() => fileOptionsOf(config, { 'jest-environment-options': '{sandbox:' }, 'a.test.js')).message).toMatch(/invalid JSON in a\.test\.js's docblock/);
    expect(fileOptionsOf(config, { 'jest-environment-options': '{"other": 1}' }, 'a.test.js').options).toEqual({});
  });
});

describe('project options: checked once per Jest project', () => {
  test('the same answer, and the warning once, for every file of a project', () => {
    const warnings: string[] = [];
    const config = projectConfig({ hostname: 'once' }, { network: 'none' });
    const first = projectOptionsOf(config, (text) => warnings.push(text));
    // The project's folder changes under it; the cached answer does not.
    const second = projectOptionsOf(config, (text) => warnings.push(text));
    expect(second).toBe(first);
    expect(warnings).toHaveLength(1);
  });

  test('a bad project option: the same error for every file, checked once', () => {
    const config = projectConfig({ network: 'off' });
    const a = errorOf(() => projectOptionsOf(config, () => undefined));
    const b = errorOf(() => projectOptionsOf(config, () => undefined));
    expect(b).toBe(a);
    expect(a.field).toBe(`${AT}.network`);
  });
});

test('a docblock with sandbox options beside "sandbox" fails, naming them: the file would run wider than it asked', () => {
  const error = errorOf(() => fileOptionsOf(projectConfig({}), { 'jest-environment-options': '{"network": "none", "sandbox": {}}' }, path.join(root, 'a.test.js')));
  expect(error.field).toBe('@jest-environment-options');
  expect(error.message).toContain('@jest-environment-options.network is a sandbox option outside "sandbox"');
  // Options of the environment itself stay the environment's.
  expect(() => fileOptionsOf(projectConfig({}), { 'jest-environment-options': '{"customExportConditions": ["node"]}' }, path.join(root, 'a.test.js'))).not.toThrow();
});

describe('misplaced options', () => {
  test.each<[string, Record<string, unknown>, string[]]>([
    ['a sandbox option next to sandbox', { network: 'none' }, ['testEnvironmentOptions.network is a sandbox option outside "sandbox", so it is ignored; move it to testEnvironmentOptions.sandbox.network']],
    ['every one of them', { binds: [], hide: [], sandbox: {} }, [
      'testEnvironmentOptions.binds is a sandbox option outside "sandbox", so it is ignored; move it to testEnvironmentOptions.sandbox.binds',
      'testEnvironmentOptions.hide is a sandbox option outside "sandbox", so it is ignored; move it to testEnvironmentOptions.sandbox.hide',
    ]],
    ['a near-miss of sandbox', { sandbx: {} }, ['testEnvironmentOptions.sandbx is ignored; did you mean "sandbox"?']],
    ['another near-miss', { Sandboxes: {} }, ['testEnvironmentOptions.Sandboxes is ignored; did you mean "sandbox"?']],
    ["Jest's own environment options", { customExportConditions: ['node'], url: 'http://x' }, []],
    ['nothing but sandbox', { sandbox: { network: 'none' } }, []],
  ])('%s', (_name, options, expected) => {
    expect(misplacedOptions(options, 'testEnvironmentOptions', 'testEnvironmentOptions.sandbox')).toEqual(expected);
  });
});

describe("envMode 'clean' in the planned environment", () => {
  const TOOLS = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', sh: '/bin/sh', env: '/usr/bin/env' };
  const host = new FakeHost({ '/usr/bin/node': 'file', '/etc/passwd': 'file', '/home/u/proj/a.js': 'file' });
  const env = { PATH: '/usr/bin', HOME: '/home/u', LANG: 'C.UTF-8', LC_ALL: 'C', TERM: 'xterm', NODE_OPTIONS: '--x', MOUNT_SANDBOX_DEBUG: '1', AWS_SECRET_ACCESS_KEY: 'secret', GITHUB_TOKEN: 'ghp_x' };
  const facts = { execPath: '/usr/bin/node', home: '/home/u', projectDir: '/home/u/proj', env };
  const plan = (options: CheckedOptions): Record<string, string> => planSandbox({ projectDir: '/home/u/proj', options }, TOOLS, host, facts).env;

  test("'inherit' (the default) passes everything, secrets included, as plain Jest does", () => {
    expect(DEFAULTS.envMode).toBe('inherit');
    expect(plan({})).toMatchObject({ AWS_SECRET_ACCESS_KEY: 'secret', GITHUB_TOKEN: 'ghp_x' });
  });

  test("'clean' keeps only the allowlist, then applies env", () => {
    expect(plan({ envMode: 'clean', env: { ADDED: 'yes', TERM: null } })).toEqual({
      PATH: '/usr/bin', HOME: '/home/u', LANG: 'C.UTF-8', LC_ALL: 'C', NODE_OPTIONS: '--x', MOUNT_SANDBOX_DEBUG: '1', ADDED: 'yes',
    });
  });
});

describe('an unsized tmpfs', () => {
  const TOOLS = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', sh: '/bin/sh', env: '/usr/bin/env' };
  const host = new FakeHost({ '/usr/bin/node': 'file', '/etc/passwd': 'file', '/home/u/proj/a.js': 'file' });
  const facts = { execPath: '/usr/bin/node', home: '/home/u', projectDir: '/home/u/proj', env: { PATH: '/usr/bin' } };
  const sizes = (options: CheckedOptions, rootSize?: number): Record<string, number | undefined> => {
    const spec = planSandbox({ projectDir: '/home/u/proj', options, ...(rootSize !== undefined ? { rootSize } : {}) }, TOOLS, host, facts);
    return Object.fromEntries(spec.mounts.flatMap((op) => (op.type === 'tmpfs' && op.role === 'user' ? [[op.dest, op.size]] : [])));
  };

  test("gets the sandbox's rootSize, not the kernel's half of the host's memory; a sized one keeps its size", () => {
    expect(sizes({ tmpfs: [{ target: '/a' }, { target: '/b', size: 4096 }] })).toEqual({ '/a': DEFAULT_ROOT_SIZE, '/b': 4096 });
    expect(sizes({ rootSize: 8 * 1024 ** 2, tmpfs: [{ target: '/a' }] })).toEqual({ '/a': 8 * 1024 ** 2 });
    // The CLI's --root-size is the request's.
    expect(sizes({ tmpfs: [{ target: '/a' }] }, 1024 ** 2)).toEqual({ '/a': 1024 ** 2 });
  });
});

describe('the order of the option mounts', () => {
  const TOOLS = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', sh: '/bin/sh', env: '/usr/bin/env' };
  const host = new FakeHost({ '/usr/bin/node': 'file', '/etc/passwd': 'file', '/home/u/proj/data/x': 'dir', '/home/u/proj/seed/a': 'file' });
  const facts = { execPath: '/usr/bin/node', home: '/home/u', projectDir: '/home/u/proj', env: { PATH: '/usr/bin' } };
  const order = (options: CheckedOptions): string[] =>
    planSandbox({ projectDir: '/home/u/proj', options }, TOOLS, host, facts).mounts.flatMap((op) => (op.role === 'user' ? [`${op.type} ${op.dest}`] : []));

  test('a mount under another comes after it, whichever list it is in, so that the outer one never covers it', () => {
    expect(order({
      tmpfs: [{ target: '/srv/data/x' }, { target: '/opt/t' }],
      fixtures: { '/srv': '/home/u/proj/seed' },
      binds: [{ source: '/home/u/proj/data', target: '/srv/data' }],
    })).toEqual(['overlay /srv', 'tmpfs /opt/t', 'ro-bind /srv/data', 'tmpfs /srv/data/x']);
  });

  test('siblings keep the order of the options, and hides still come last', () => {
    expect(order({ tmpfs: [{ target: '/b' }, { target: '/a' }], binds: [{ source: '/home/u/proj/data', target: '/c' }], hide: ['/home/u/proj/seed'] }))
      .toEqual(['tmpfs /b', 'tmpfs /a', 'ro-bind /c', 'hide /home/u/proj/seed']);
  });
});

describe('a hidden path written through a symlink', () => {
  const TOOLS = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', sh: '/bin/sh', env: '/usr/bin/env' };
  const host = new FakeHost({ '/usr/bin/node': 'file', '/etc/passwd': 'file', '/work/real/.env': 'file', '/work/link': '-> real', '/work/real/to-proc': '-> /proc/1' });
  const facts = { execPath: '/usr/bin/node', home: '/home/u', projectDir: '/work/real', env: { PATH: '/usr/bin' } };
  const hidden = (hide: string[]): string[] => planSandbox({ projectDir: '/work/real', options: { hide } }, TOOLS, host, facts).mounts.flatMap((op) => (op.type === 'hide' ? [op.dest] : []));

  test('is hidden at its real path too, where the sandbox shows the project', () => {
    expect(hidden(['/work/link/.env'])).toEqual(['/work/link/.env', '/work/real/.env']);
    expect(hidden(['/work/real/.env', '/work/missing'])).toEqual(['/work/real/.env', '/work/missing']);
  });

  test('a real path the sandbox builds itself is left to the sandbox', () => {
    expect(hidden(['/work/real/to-proc'])).toEqual(['/work/real/to-proc']);
  });
});
