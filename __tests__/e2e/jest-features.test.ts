// Jest features that touch the filesystem or the module system, through real
// Jest in the sandbox: snapshots written back to the host, coverage equal to
// an unsandboxed run's, ts-jest and its cache, ES modules, setup files and
// console output.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, fileResult, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { USERS, type User } from '../helpers/run';

const SNAP = path.join('__tests__', '__snapshots__', 'value.test.js.snap');

function failureOf(run: JestRun, file: string, test: string): string {
  const found = fileResult(run.results, file).assertionResults.find((a) => a.fullName === test);
  if (!found) throw new Error(`no test "${test}" in ${file}`);
  return (found.failureMessages ?? []).join('\n');
}

interface LineCoverage {
  covered: number[];
  uncovered: number[];
  functions: Record<string, boolean>;
}

/** Per source file (relative to the fixture copy): which lines and functions ran, from coverage-final.json. */
function coverageOf(dir: string): Record<string, LineCoverage> {
  type FileCoverage = {
    statementMap: Record<string, { start: { line: number } }>;
    s: Record<string, number>;
    fnMap: Record<string, { name: string; decl: { start: { line: number } } }>;
    f: Record<string, number>;
  };
  const raw = JSON.parse(fs.readFileSync(path.join(dir, 'coverage', 'coverage-final.json'), 'utf8')) as Record<string, FileCoverage>;
  const summary: Record<string, LineCoverage> = {};
  for (const [file, data] of Object.entries(raw)) {
    const covered = new Set<number>();
    const uncovered = new Set<number>();
    for (const [id, statement] of Object.entries(data.statementMap)) (data.s[id] > 0 ? covered : uncovered).add(statement.start.line);
    const functions: Record<string, boolean> = {};
    for (const [id, fn] of Object.entries(data.fnMap)) functions[`${fn.name}@${fn.decl.start.line}`] = data.f[id] > 0;
    const sorted = (set: Set<number>): number[] => [...set].sort((a, b) => a - b);
    summary[path.relative(dir, file)] = { covered: sorted(covered), uncovered: sorted(uncovered), functions };
  }
  return summary;
}

/** 1-based number of the line of `file` that contains `text`. */
function lineOf(file: string, text: string): number {
  const index = fs.readFileSync(file, 'utf8').split('\n').findIndex((line) => line.includes(text));
  if (index < 0) throw new Error(`"${text}" is not in ${file}`);
  return index + 1;
}

/** Every file under dir, relative to it. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe.each(USERS)('Jest features in the sandbox as %s', (user: User) => {
  test('snapshots: written when new, a changed value fails, -u updates the file', async () => {
    const dir = copyFixture('snapshots');
    const snap = path.join(dir, SNAP);

    const first = await runJest(user, dir, [], { SNAPSHOT_VALUE: 'first' });
    expect(first.code).toBe(0);
    expect(outcomes(first.results)).toEqual({ 'value.test.js › value': 'passed' });
    expect(first.results.snapshot.added).toBe(1);
    expect(fs.readFileSync(snap, 'utf8')).toContain('exports[`value 1`] = `\n{\n  "greeting": "first",\n}\n`;');
    // Written through the bind mount by the running user, not by some mapped or overflow id.
    expect(fs.statSync(snap).uid).toBe(user === 'root' ? 0 : 65534);

    const written = fs.readFileSync(snap, 'utf8');
    const mismatch = await runJest(user, dir, [], { SNAPSHOT_VALUE: 'second' });
    expect(mismatch.code).toBe(1);
    expect(mismatch.results.snapshot.unmatched).toBe(1);
    const failure = failureOf(mismatch, 'value.test.js', 'value');
    expect(failure).toContain('toMatchSnapshot');
    expect(failure).toMatch(/-\s+"greeting": "first"/);
    expect(failure).toMatch(/\+\s+"greeting": "second"/);
    expect(fs.readFileSync(snap, 'utf8')).toBe(written);

    const update = await runJest(user, dir, ['-u'], { SNAPSHOT_VALUE: 'second' });
    expect(update.code).toBe(0);
    expect(update.results.snapshot.updated).toBe(1);
    const updated = fs.readFileSync(snap, 'utf8');
    expect(updated).toContain('"greeting": "second"');
    expect(updated).not.toContain('"greeting": "first"');
  });

  test('inline snapshots are written into the test file, and only when Jest may write', async () => {
    const dir = copyFixture('inline-snapshots');
    const file = path.join(dir, '__tests__', 'inline.test.js');
    const strict = await runJest(user, dir, ['--ci']);
    expect(strict.code).toBe(1);
    expect(fs.readFileSync(file, 'utf8')).toContain('toMatchInlineSnapshot()');
    const first = await runJest(user, dir);
    expect(first.results.snapshot.added).toBe(1);
    expect(first.code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/toMatchInlineSnapshot\(`\s*\{\s*"written": "inline",\s*\}\s*`\)/);
    expect(fs.existsSync(path.join(dir, '__tests__', '__snapshots__'))).toBe(false);
  });

  test('snapshots: with --ci a missing snapshot is not written and the test fails', async () => {
    const dir = copyFixture('snapshots');
    const run = await runJest(user, dir, ['--ci'], { SNAPSHOT_VALUE: 'ci' });
    expect(run.code).toBe(1);
    expect(outcomes(run.results)).toEqual({ 'value.test.js › value': 'failed' });
    expect(failureOf(run, 'value.test.js', 'value')).toContain('New snapshot was not written');
    expect(run.results.snapshot.added).toBe(0);
    expect(fs.existsSync(path.dirname(path.join(dir, SNAP)))).toBe(false);
  });

  test.each(['babel', 'v8'])('coverage with the %s provider: the same lines as an unsandboxed run', async (provider) => {
    const sandboxedDir = copyFixture('coverage');
    const plainDir = copyFixture('coverage');
    const args = ['--coverage', `--coverageProvider=${provider}`];
    const [sandboxed, plain] = await Promise.all([
      runJest(user, sandboxedDir, args),
      runJest(user, plainDir, [...args, '--testEnvironment=node', '--runner=jest-runner']),
    ]);
    for (const run of [sandboxed, plain]) {
      expect(run.code).toBe(0);
      expect(outcomes(run.results)).toEqual({ 'grade.test.js › grades': 'passed' });
    }
    // The comparison means something only if one ran sandboxed and the other did not.
    expect(sandboxed.stderr).toContain('coverage run sandboxed=true');
    expect(plain.stderr).toContain('coverage run sandboxed=false');

    const coverage = coverageOf(sandboxedDir);
    expect(coverage).toEqual(coverageOf(plainDir));
    expect(Object.keys(coverage)).toEqual([path.join('src', 'grade.js')]);
    const source = path.join(sandboxedDir, 'src', 'grade.js');
    const { covered, uncovered, functions } = coverage[path.join('src', 'grade.js')];
    expect(covered).toEqual(expect.arrayContaining([lineOf(source, "return 'A'"), lineOf(source, "return 'pass'")]));
    expect(uncovered).toEqual(expect.arrayContaining([lineOf(source, "return 'fail'"), lineOf(source, "const reason")]));
    expect(covered).not.toContain(lineOf(source, "return 'fail'"));
    expect(covered).not.toContain(lineOf(source, 'const reason'));
    expect(functions).toEqual({ [`grade@${lineOf(source, 'function grade')}`]: true, [`unused@${lineOf(source, 'function unused')}`]: false });
  });

  test('TypeScript through ts-jest: compiled inside the sandbox, cached in the sandboxes\' cache, the cache reused', async () => {
    const dir = copyFixture('typescript');
    // A cache of this test's own, outside the fixture copy, that the running user can write.
    const jestCache = `${dir}-cache`;
    fs.mkdirSync(jestCache);
    fs.chmodSync(jestCache, 0o777);
    const args = [`--cacheDirectory=${jestCache}`];
    // Sandboxed files get <cacheDirectory>/mount-sandbox/<project>, never Jest's own cache (which Jest's process executes).
    const sandboxes = path.join(jestCache, 'mount-sandbox');
    const expected = { 'add.test.ts › adds, compiled by ts-jest inside the sandbox': 'passed' };

    const first = await runJest(user, dir, args);
    expect(first.code).toBe(0);
    expect(outcomes(first.results)).toEqual(expected);
    // One folder, this project's, named after it.
    const projects = fs.readdirSync(sandboxes);
    expect(projects.map((name) => name.replace(/-[0-9a-f]{16}$/, '-<hash>'))).toEqual([`${path.basename(dir)}-<hash>`]);
    const cache = path.join(sandboxes, projects[0]);
    // Written from inside the sandbox: Jest's transform cache of the compiled test and source (Jest drops the dots).
    const cached = filesUnder(cache).filter((f) => f.startsWith('jest-transform-cache-') && !f.endsWith('.map'));
    expect(cached.map((f) => path.basename(f).replace(/_[0-9a-f]+$/, '')).sort()).toEqual(['add', 'addtest']);
    const compiled = fs.readFileSync(path.join(cache, cached.find((f) => path.basename(f).startsWith('add_')) as string), 'utf8');
    expect(compiled).toContain('function add(...terms) {');
    expect(compiled).not.toContain('interface Sum');
    const mtimes = new Map(cached.map((f) => [f, fs.statSync(path.join(cache, f)).mtimeMs]));

    expect(filesUnder(jestCache).filter((f) => f.startsWith('jest-transform-cache-'))).toEqual([]);

    const second = await runJest(user, dir, args);
    expect(second.code).toBe(0);
    expect(outcomes(second.results)).toEqual(expected);
    // The second run read the compiled files from the cache rather than compiling and writing them again.
    for (const [f, mtime] of mtimes) expect([f, fs.statSync(path.join(cache, f)).mtimeMs]).toEqual([f, mtime]);
  });

  test('an ES module test file runs with --experimental-vm-modules', async () => {
    const dir = copyFixture('esm');
    const run = await runJest(user, dir, [], { NODE_OPTIONS: '--experimental-vm-modules' });
    expect(run.code).toBe(0);
    expect(outcomes(run.results)).toEqual({ 'esm.test.js › runs as an ES module inside the sandbox': 'passed' });
  });

  test('setupFiles and setupFilesAfterEnv run in the sandbox; console output reaches stderr', async () => {
    const dir = copyFixture('setup-files');
    const marker = crypto.randomBytes(6).toString('hex');
    const run = await runJest(user, dir, [], { CONSOLE_MARKER: marker });
    expect(run.code).toBe(1);
    expect(outcomes(run.results)).toEqual({
      'setup.test.js › sees what setupFiles set and the matcher setupFilesAfterEnv added': 'passed',
      'setup.test.js › the custom matcher fails with its own message': 'failed',
      'setup.test.js › logs to the console': 'passed',
    });
    expect(failureOf(run, 'setup.test.js', 'the custom matcher fails with its own message')).toContain('custom matcher: expected 7 to be even');
    // Through Jest's console capture (with its headers), not the child's raw output.
    expect(run.stderr).toMatch(new RegExp(`console\\.log\\s+log line ${marker}`));
    expect(run.stderr).toMatch(new RegExp(`console\\.error\\s+error line ${marker}`));
    expect(run.stdout).not.toContain(marker);
  });
});
