// A run must never be silently unsandboxed. The trap: `testEnvironment:
// 'node'` next to `preset: 'jest-environment-mount-sandbox'` overrides the
// preset's environment. Such files fail before any of their code runs, with
// the key and the fix in the message. So does a file whose own docblock
// names another environment: a test file cannot take itself out of the
// sandbox. Only the runner's documented switch, in the config, runs files on
// the host, and then their docblocks decide. And the README's
// ts-jest recipes, exactly as written there, sandbox every file.
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, fileResult, outcomes, runJest } from '../helpers/jest-run';
import { TEST_HOME, USERS, type User } from '../helpers/run';

const SLOW = 180_000;

/** A folder outside the fixture copy (so never visible inside a sandbox) where the fixture's code leaves markers when it runs on the host. */
function markerDir(dir: string): string {
  const markers = `${dir}.markers`;
  fs.mkdirSync(markers);
  fs.chmodSync(markers, 0o777);
  return markers;
}

/** Marker names, with the random part of setup markers dropped: `setup` once per file whose setupFiles ran on the host. */
function markers(dir: string): string[] {
  return fs.readdirSync(dir).map((name) => name.replace(/^setup-[0-9a-f]+$/, 'setup')).sort();
}

describe.each(USERS)('files that would run unsandboxed, as %s', (user: User) => {
  test('preset + testEnvironment: "node": nothing runs on the host unasked; the message names the key and the fix', async () => {
    const dir = copyFixture('preset-override');
    const marks = markerDir(dir);
    const run = await runJest(user, dir, [], { MARKER_DIR: marks });
    expect(outcomes(run.results)).toEqual({
      'writes-marker.test.js': 'failed',
      'opted-out.test.js': 'failed',
      'opted-in.test.js › runs in a sandbox, as its docblock asks': 'passed',
    });
    expect(run.code).toBe(1);
    const refused = fileResult(run.results, 'writes-marker.test.js');
    expect(refused.assertionResults).toEqual([]);
    expect(refused.message).toContain('mount-sandbox: not run, because this file would have run unsandboxed, on the host.');
    expect(refused.message).toContain(`testEnvironment is "node" (jest-environment-node) in the project at ${dir}`);
    expect(refused.message).toContain("overrides the one that preset: 'jest-environment-mount-sandbox' sets");
    expect(refused.message).toContain("Fix: delete that testEnvironment key (the preset sets it), or set testEnvironment: 'mount-sandbox'.");
    expect(refused.message).toContain("runner: ['jest-environment-mount-sandbox/runner', { allowUnsandboxed: true }]");
    // No stack frames of the runner's: the fault is in the config.
    expect(refused.message).not.toMatch(/^\s+at /m);
    const optedOut = fileResult(run.results, 'opted-out.test.js');
    expect(optedOut.assertionResults).toEqual([]);
    expect(optedOut.message).toContain('mount-sandbox: not run, because its docblock (@jest-environment node) would run this file unsandboxed, on the host.');
    expect(optedOut.message).toContain(`A test file cannot take itself out of the sandbox: its docblock may only narrow it. Whether files may run on the host is for the Jest config of the project at ${dir} to say.`);
    expect(optedOut.message).toContain("set runner: ['jest-environment-mount-sandbox/runner', { allowUnsandboxed: true }] in that config.");
    expect(optedOut.message).not.toMatch(/^\s+at /m);
    // Neither refused file nor their setupFiles ran on the host, and the opted-in file ran, in its sandbox, where
    // the host's marker folder does not exist.
    expect(markers(marks)).toEqual([]);
    expect(run.stderr).not.toContain('no file of this run was sandboxed');
  }, SLOW);

  test('the documented switch, runner: [..., { allowUnsandboxed: true }], runs such files on the host, and then the docblocks decide theirs', async () => {
    const dir = copyFixture('preset-override');
    const marks = markerDir(dir);
    const run = await runJest(user, dir, ['--config', 'jest.allow.config.js'], { MARKER_DIR: marks });
    expect(outcomes(run.results)).toEqual({
      'writes-marker.test.js › writes a marker on the host when it runs there': 'passed',
      'opted-out.test.js › runs on the host, as its docblock asks': 'passed',
      'opted-in.test.js › runs in a sandbox, as its docblock asks': 'passed',
    });
    expect(run.code).toBe(0);
    expect(markers(marks)).toEqual(['opted-out.test', 'setup', 'setup', 'writes-marker.test', 'writes-marker.top-level']);
    expect(run.stderr).not.toContain('no file of this run was sandboxed');

    // A run in which no file at all was sandboxed says so, even when the config asked for it.
    const alone = await runJest(user, dir, ['--config', 'jest.allow.config.js', '--runTestsByPath', '__tests__/writes-marker.test.js'], { MARKER_DIR: marks });
    expect(alone.code).toBe(0);
    expect(alone.stderr).toContain('mount-sandbox: no file of this run was sandboxed: 1 ran on the host');
  }, SLOW);

  test('a misspelt switch is refused, naming the option', async () => {
    const dir = copyFixture('preset-override');
    const marks = markerDir(dir);
    fs.writeFileSync(path.join(dir, 'jest.typo.config.js'), fs.readFileSync(path.join(dir, 'jest.allow.config.js'), 'utf8').replace('allowUnsandboxed', 'allowUnsandbox'));
    const run = await runJest(user, dir, ['--config', 'jest.typo.config.js', '--runTestsByPath', '__tests__/writes-marker.test.js'], { MARKER_DIR: marks });
    expect(run.code).toBe(1);
    expect(fileResult(run.results, 'writes-marker.test.js').message).toContain('mount-sandbox: runner options of the project at');
    expect(fileResult(run.results, 'writes-marker.test.js').message).toContain('unknown option "allowUnsandbox" (the runner takes { allowUnsandboxed: true } and nothing else)');
    expect(markers(marks)).toEqual([]);
  }, SLOW);

  test('multi-project: only the project whose testEnvironment overrides the preset is refused, and the message names it', async () => {
    const dir = copyFixture('preset-override');
    const marks = markerDir(dir);
    const run = await runJest(user, dir, ['--config', 'jest.projects.config.js'], { MARKER_DIR: marks });
    expect(outcomes(run.results)).toEqual({
      'writes-marker.test.js': 'failed',
      'sandboxed-by-preset.js › runs in a sandbox, as the preset says': 'passed',
    });
    expect(fileResult(run.results, 'writes-marker.test.js').message).toContain(`testEnvironment is "node" (jest-environment-node) in project "overridden" (${dir})`);
    expect(markers(marks)).toEqual([]);
  }, SLOW);
});

describe.each(USERS)('the README\'s ts-jest recipes, as %s', (user: User) => {
  test.each([
    ['preset plus createDefaultPreset().transform', 'jest.config.js'],
    ["preset: 'ts-jest' plus runner and testEnvironment", 'jest.ts-jest-preset.config.js'],
  ])('%s: compiled by ts-jest, every file sandboxed', async (_recipe, config) => {
    const dir = copyFixture('ts-jest-recipe');
    const run = await runJest(user, dir, ['--config', config]);
    expect(outcomes(run.results)).toEqual({ 'settings.test.ts › compiled by ts-jest, run in a sandbox: the write to $HOME stays inside': 'passed' });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`recipe wrote ${path.join(TEST_HOME, '.config', 'recipe', 'settings.json')} sandboxed=true`);
    expect(fs.existsSync(TEST_HOME)).toBe(false);
  }, SLOW);
});
