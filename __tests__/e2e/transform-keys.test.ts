// A transform-cache hit loads nothing of the transformer: the keys come from
// Jest's process (src/host/transform-keys.ts, src/inside/lazy-transform.ts).
// Proven through real Jest on fixture projects, with a cache of each test's
// own: what the transform gives must follow every change plain Jest follows
// (a changed babel.config.js, a file only that config reads, a changed
// tsconfig.json, --no-cache), coverage must equal plain Jest's on a cache
// hit, and on a hit the child must not have loaded the transformer.
import fs from 'node:fs';
import path from 'node:path';
import type { FormattedTestResults } from '@jest/test-result';
import { copyFixture, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { USERS, type User } from '../helpers/run';

const DEBUG = { MOUNT_SANDBOX_DEBUG: '1' };
const PLAIN = ['--testEnvironment=node', '--runner=jest-runner'];

/** A Jest cache of the test's own, outside the fixture copy, that the running user can write. */
function cacheFor(dir: string): string[] {
  const cache = `${dir}-cache`;
  fs.mkdirSync(cache, { recursive: true });
  fs.chmodSync(cache, 0o777);
  return [`--cacheDirectory=${cache}`];
}

interface KeyStats {
  hits: number;
  misses: number;
  loaded: string;
}

/** The child's debug line, one per sandboxed file. */
function keyStats(run: JestRun): KeyStats[] {
  return [...run.stderr.matchAll(/transform keys from Jest's process: (\d+) hits, (\d+) misses; transformers loaded: (.*)/g)]
    .map((m) => ({ hits: Number(m[1]), misses: Number(m[2]), loaded: m[3] }));
}

/** The npm packages each sandboxed child loaded with require(), whoever loaded them: the transformer's own line could miss one. */
function packagesLoaded(run: JestRun): string[][] {
  return [...run.stderr.matchAll(/packages loaded in the child: (.*)/g)].map((m) => m[1].split(', '));
}

/** What a transformer pulls in, that a child must not have loaded on a hit. */
const TRANSFORMER_PACKAGES = ['babel-jest', '@babel/core', 'ts-jest', 'typescript'];

function expectNoTransformerLoaded(run: JestRun): void {
  const lists = packagesLoaded(run);
  expect(lists.length).toBeGreaterThan(0);
  // Jest itself is there: the list is real, not empty for want of a debug line.
  for (const packages of lists) expect(packages).toEqual(expect.arrayContaining(['jest-runtime']));
  for (const packages of lists) expect(packages.filter((name) => TRANSFORMER_PACKAGES.includes(name))).toEqual([]);
}

/**
 * The per-file debug line's CPU split (bench/ reads it): the test process's
 * own CPU by phase, as it measured it. A Node start alone costs tens of ms,
 * so a setup figure under 10 ms would mean the numbers came from elsewhere.
 */
function expectCpuSplit(run: JestRun): void {
  const splits = [...run.stderr.matchAll(/CPU setup (\d+) ms, load Jest (\d+) ms, run (\d+) ms, \d+ page faults, one Node process/g)];
  expect(splits.length).toBeGreaterThan(0);
  for (const [, setup, load, ran] of splits) {
    expect(Number(setup)).toBeGreaterThanOrEqual(10);
    expect(Number(load)).toBeGreaterThan(0);
    expect(Number(ran)).toBeGreaterThan(0);
  }
}

function passed(results: FormattedTestResults): void {
  expect(Object.values(outcomes(results))).toEqual(expect.arrayContaining(['passed']));
  expect(Object.values(outcomes(results)).every((status) => status === 'passed')).toBe(true);
}

function printed(run: JestRun, name: string): string[] {
  return [...run.stderr.matchAll(new RegExp(`^${name}=(.*)$`, 'gm'))].map((m) => m[1]);
}

describe.each(USERS)('transform keys from Jest\'s process, as %s', (user: User) => {
  test('babel-jest: a hit loads nothing; a changed babel.config.js, or a file only it reads, gives the new transform', async () => {
    const dir = copyFixture('transform-babel');
    const args = cacheFor(dir);
    const flavour = async (expected: string, transformerLoaded: boolean, extra: string[] = []): Promise<void> => {
      const run = await runJest(user, dir, [...args, ...extra], DEBUG);
      expect(run.code).toBe(0);
      passed(run.results);
      expect(printed(run, 'FLAVOUR')).toEqual([`${expected} in the test file: ${expected}`]);
      const [stats] = keyStats(run);
      expect(stats).toEqual(expect.objectContaining({ hits: 2, misses: 0 }));
      if (transformerLoaded) expect(stats.loaded).toMatch(/babel-jest/);
      else {
        expect(stats.loaded).toBe('none');
        expectNoTransformerLoaded(run);
      }
      expectCpuSplit(run);
    };
    // Cold cache: keys from Jest's process, the transform itself in the sandbox.
    await flavour('vanilla', true);
    // Warm: the child never loads babel-jest, nor with it @babel/core.
    await flavour('vanilla', false);
    fs.writeFileSync(path.join(dir, 'babel.config.js'), fs.readFileSync(path.join(dir, 'babel.config.js'), 'utf8').replace("const suffix = '';", "const suffix = ' swirl';"));
    await flavour('vanilla swirl', true);
    await flavour('vanilla swirl', false);
    // Only babel.config.js reads flavour.json; babel-jest's key sees it through the plugin's options.
    fs.writeFileSync(path.join(dir, 'flavour.json'), '{ "flavour": "pistachio" }\n');
    await flavour('pistachio swirl', true);
    // --no-cache: Jest reads no cache entry, so the transformer runs (and loads), as in plain Jest.
    await flavour('pistachio swirl', true, ['--no-cache']);
    fs.writeFileSync(path.join(dir, 'flavour.json'), '{ "flavour": "mint" }\n');
    await flavour('mint swirl', true, ['--no-cache']);
  }, 400_000);

  test('MOUNT_SANDBOX_TRANSFORM_KEYS=0 turns the lever off: the child keys and loads as Jest does', async () => {
    const dir = copyFixture('transform-babel');
    const args = cacheFor(dir);
    for (let i = 0; i < 2; i++) {
      const run = await runJest(user, dir, args, { ...DEBUG, MOUNT_SANDBOX_TRANSFORM_KEYS: '0' });
      expect(run.code).toBe(0);
      expect(printed(run, 'FLAVOUR')).toEqual(['vanilla in the test file: vanilla']);
      expect(keyStats(run)).toEqual([]);
    }
  }, 120_000);

  test.each(['babel', 'v8'])('coverage with the %s provider on a cache hit equals plain Jest\'s', async (provider) => {
    const sandboxedDir = copyFixture('coverage');
    const plainDir = copyFixture('coverage');
    const args = [...cacheFor(sandboxedDir), '--coverage', `--coverageProvider=${provider}`, '--coverageReporters=json'];
    const coverage = (dir: string): unknown => {
      const raw = JSON.parse(fs.readFileSync(path.join(dir, 'coverage', 'coverage-final.json'), 'utf8')) as Record<string, Record<string, unknown>>;
      const counted = ['statementMap', 's', 'fnMap', 'f', 'branchMap', 'b'];
      return Object.fromEntries(Object.entries(raw).map(([file, data]) => [path.relative(dir, file), Object.fromEntries(counted.map((k) => [k, data[k]]))]));
    };
    const plain = await runJest(user, plainDir, [...args.filter((a) => !a.startsWith('--cacheDirectory')), ...cacheFor(plainDir), ...PLAIN]);
    expect(plain.code).toBe(0);
    const cold = await runJest(user, sandboxedDir, args, DEBUG);
    expect(cold.code).toBe(0);
    fs.rmSync(path.join(sandboxedDir, 'coverage'), { recursive: true });
    const warm = await runJest(user, sandboxedDir, args, DEBUG);
    expect(warm.code).toBe(0);
    expect(warm.stderr).toContain('coverage run sandboxed=true');
    expect(keyStats(warm)).toEqual([{ hits: 2, misses: 0, loaded: 'none' }]);
    expectNoTransformerLoaded(warm);
    // Statement, branch and function counts and their source locations, all of them.
    expect(coverage(sandboxedDir)).toEqual(coverage(plainDir));
    expect(Object.keys(coverage(sandboxedDir) as object)).toEqual([path.join('src', 'grade.js')]);
  }, 180_000);

  test('ts-jest: a hit loads nothing; a changed tsconfig.json gives the new output', async () => {
    const dir = copyFixture('transform-ts');
    const args = cacheFor(dir);
    const native = async (expected: string, transformerLoaded: boolean): Promise<void> => {
      const run = await runJest(user, dir, args, DEBUG);
      expect(run.code).toBe(0);
      passed(run.results);
      expect(printed(run, 'NATIVE_OPTIONAL_CHAINING')).toEqual([expected]);
      const [stats] = keyStats(run);
      expect(stats).toEqual(expect.objectContaining({ hits: 2, misses: 0 }));
      if (transformerLoaded) expect(stats.loaded).toMatch(/ts-jest/);
      else {
        expect(stats.loaded).toBe('none');
        expectNoTransformerLoaded(run);
      }
      expectCpuSplit(run);
    };
    await native('true', true);
    await native('true', false);
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), '{ "compilerOptions": { "module": "commonjs", "target": "es2019", "strict": true } }\n');
    await native('false', true);
    await native('false', false);
  }, 300_000);

  test('ES modules through babel-jest: a hit loads nothing, though Jest asks the transformer about itself first; a changed babel.config.cjs gives the new transform', async () => {
    const dir = copyFixture('transform-esm');
    const args = cacheFor(dir);
    const env = { ...DEBUG, NODE_OPTIONS: '--experimental-vm-modules' };
    const greeting = async (expected: string, transformerLoaded: boolean): Promise<void> => {
      const run = await runJest(user, dir, args, env);
      expect(run.code).toBe(0);
      passed(run.results);
      expect(printed(run, 'GREETING')).toEqual([`${expected} world`]);
      // ES modules are keyed with Jest's ESM transform options, not a require's.
      expect(keyStats(run)).toEqual([expect.objectContaining({ hits: 2, misses: 0 })]);
      if (transformerLoaded) expect(packagesLoaded(run)[0]).toEqual(expect.arrayContaining(['babel-jest', '@babel/core']));
      else expectNoTransformerLoaded(run);
    };
    await greeting('hello', true);
    await greeting('hello', false);
    fs.writeFileSync(path.join(dir, 'babel.config.cjs'), fs.readFileSync(path.join(dir, 'babel.config.cjs'), 'utf8').replace("const word = 'hello';", "const word = 'howdy';"));
    await greeting('howdy', true);
    await greeting('howdy', false);
  }, 300_000);

  test('manual mocks, beside a module and at the root, are keyed too: a warm run loads no transformer', async () => {
    const dir = copyFixture('transform-mocks');
    const args = cacheFor(dir);
    for (const warm of [false, true]) {
      const run = await runJest(user, dir, args, DEBUG);
      expect(run.code).toBe(0);
      passed(run.results);
      // The test file and the two mocks; the real src/thing.js is keyed but never loaded.
      expect(keyStats(run)).toEqual([expect.objectContaining({ hits: 3, misses: 0 })]);
      if (warm) expectNoTransformerLoaded(run);
    }
  }, 120_000);
});
