// Jest 29 with ts-jest 29, as a consumer project has them: fixtures/jest29's
// own lockfile installed with `npm ci`, the npm-packed package added with
// `npm install` (which also checks its peer range against Jest 29), then
// that project's Jest run as root and as nobody. The rest of the suite runs
// Jest 30, the package's devDependency.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, fileResult, outcomes, runJestBin, type JestRun } from '../helpers/jest-run';
import { run, TEST_HOME, USERS, type User } from '../helpers/run';
import { REPO, currentStage, stagedTarball } from '../helpers/stage';

const FIXTURE = 'jest29';
/** npm ci of about 280 packages: seconds from npm's cache, up to minutes from a cold registry. */
const INSTALL_TIMEOUT = 300_000;

let install: string;

/** The environment npm needs: the caller's, for its cache, config and proxy. */
function npmEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

async function npm(args: string[], what: string): Promise<void> {
  const result = await run('root', ['npm', ...args], { cwd: install, env: npmEnv(), timeoutMs: INSTALL_TIMEOUT });
  if (result.code === 0) return;
  const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-30).join('\n');
  throw new Error(
    `${what} failed in ${install} (${result.signal ? `killed by ${result.signal} after ${INSTALL_TIMEOUT / 1000} s` : `exit ${result.code}`}). ` +
    `This test installs Jest 29 from the npm registry, so it needs the registry npm is configured for (npm config get registry). npm said:\n${output}`);
}

beforeAll(async () => {
  install = fs.mkdtempSync(path.join(currentStage().root, 'jest29-install-'));
  fs.chmodSync(install, 0o755);
  for (const file of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(REPO, 'fixtures', FIXTURE, file), path.join(install, file));
  const quiet = ['--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'];
  await npm(['ci', ...quiet], `npm ci of fixtures/${FIXTURE}/package-lock.json`);
  // No --legacy-peer-deps: npm refuses the package if its peer range excludes Jest 29.
  await npm(['install', '--no-save', ...quiet, stagedTarball()], 'npm install of the packed jest-environment-mount-sandbox into the Jest 29 project');
}, INSTALL_TIMEOUT * 2);

function jestBin(): string {
  return path.join(install, 'node_modules', 'jest', 'bin', 'jest.js');
}

function failureOf(result: JestRun, file: string, name: string): string {
  const found = fileResult(result.results, file).assertionResults.find((a) => a.fullName === name);
  if (!found) throw new Error(`no test "${name}" in ${file}`);
  return (found.failureMessages ?? []).join('\n');
}

/** `name@line` → whether it ran, per source file relative to dir, from coverage-final.json. */
function functionsCovered(dir: string): Record<string, Record<string, boolean>> {
  type FileCoverage = { fnMap: Record<string, { name: string; decl: { start: { line: number } } }>; f: Record<string, number> };
  const raw = JSON.parse(fs.readFileSync(path.join(dir, 'coverage', 'coverage-final.json'), 'utf8')) as Record<string, FileCoverage>;
  return Object.fromEntries(Object.entries(raw).map(([file, data]) => [
    path.relative(dir, file),
    Object.fromEntries(Object.entries(data.fnMap).map(([id, fn]) => [`${fn.name}@${fn.decl.start.line}`, data.f[id] > 0])),
  ]));
}

test('the installed project really is on Jest 29 and ts-jest 29, with the packed package', () => {
  const version = (name: string): string => (JSON.parse(fs.readFileSync(path.join(install, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  expect(version('jest')).toMatch(/^29\./);
  expect(version('jest-runner')).toMatch(/^29\./);
  expect(version('jest-environment-node')).toMatch(/^29\./);
  expect(version('ts-jest')).toMatch(/^29\./);
  expect(fs.existsSync(path.join(install, 'node_modules', 'jest-environment-mount-sandbox', 'dist', 'shared', 'jest-compat.js'))).toBe(true);
});

// babel coverage as root, v8 as nobody: both providers, at no extra run.
describe.each(USERS.map((user) => [user, user === 'root' ? 'babel' : 'v8'] as const))('Jest 29 in the sandbox as %s (%s coverage)', (user: User, provider) => {
  test('outcomes with the failure\'s location, a sandboxed probe, snapshots written then compared, ts-jest, a docblock option, coverage', async () => {
    const dir = copyFixture(FIXTURE, path.join(install, 'runs'));
    const marker = `ms-jest29-${crypto.randomBytes(6).toString('hex')}`;
    const first = await runJestBin(jestBin(), user, dir, ['--coverage', `--coverageProvider=${provider}`], { JEST29_MARKER: marker, SNAPSHOT_VALUE: 'hello' });
    expect(outcomes(first.results)).toEqual({
      'outcomes.test.js › passes': 'passed',
      'outcomes.test.js › fails with a message pointing here': 'failed',
      'outcomes.test.js › logs to the console': 'passed',
      'probe.test.js › Jest 29 runs this file inside a sandbox': 'passed',
      'probe.test.js › writes to /tmp and $HOME succeed inside': 'passed',
      'probe.test.js › the project and node_modules are read-only': 'passed',
      'snapshot.test.js › value': 'passed',
      'docblock.test.js › the docblock options shape this file\'s sandbox': 'passed',
      'typed.test.ts › compiled by ts-jest 29 inside the sandbox': 'passed',
    });
    expect(first.code).toBe(1);
    const failure = failureOf(first, 'outcomes.test.js', 'fails with a message pointing here');
    expect(failure).toContain('"answer": 42');
    expect(failure).toMatch(/outcomes\.test\.js:6:26/);
    expect(first.stderr).toMatch(/>\s+6 \|\s+expect\(\{ answer: 41 \}\)/);
    expect(first.stderr).toContain('hello from inside the Jest 29 sandbox');

    // What the probe wrote stayed in its sandbox.
    for (const where of ['/tmp', TEST_HOME, path.join(dir, '__tests__')]) expect(fs.existsSync(path.join(where, marker))).toBe(false);

    // The snapshot reached the host's project.
    const snap = path.join(dir, '__tests__', '__snapshots__', 'snapshot.test.js.snap');
    expect(first.results.snapshot.added).toBe(1);
    expect(fs.readFileSync(snap, 'utf8')).toContain('"greeting": "hello"');

    // Coverage of a ts-jest-compiled source, mapped back to the .ts lines.
    const source = fs.readFileSync(path.join(dir, 'src', 'grade.ts'), 'utf8').split('\n');
    const lineOf = (text: string): number => source.findIndex((line) => line.includes(text)) + 1;
    expect(functionsCovered(dir)).toEqual({
      [path.join('src', 'grade.ts')]: { [`grade@${lineOf('function grade')}`]: true, [`unused@${lineOf('function unused')}`]: false },
    });

    // A second run compares against the written snapshot, and a changed value fails it.
    const second = await runJestBin(jestBin(), user, dir, ['--ci', '__tests__/snapshot.test.js'], { JEST29_MARKER: marker, SNAPSHOT_VALUE: 'changed' });
    expect(outcomes(second.results)).toEqual({ 'snapshot.test.js › value': 'failed' });
    expect(second.results.snapshot.unmatched).toBe(1);
    const mismatch = failureOf(second, 'snapshot.test.js', 'value');
    expect(mismatch).toContain('"greeting": "hello"');
    expect(mismatch).toContain('"greeting": "changed"');
    expect(fs.readFileSync(snap, 'utf8')).toContain('"greeting": "hello"');
  }, 180_000);
});
