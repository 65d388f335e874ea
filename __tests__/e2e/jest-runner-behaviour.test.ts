// The runner under real Jest: every way a sandboxed file can fail, the
// environment without its runner, projects that sandbox only some files,
// identical outcomes with and without sandboxes, and Jest's own flags.
import fs from 'node:fs';
import path from 'node:path';
import type { FormattedTestResults } from '@jest/test-result';
import { sandboxProcesses } from '../helpers/host-state';
import { copyFixture, fileResult, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { run, USERS, type User } from '../helpers/run';
import { currentStage } from '../helpers/stage';
import { sleep } from '../helpers/wait';

const SLOW = 240_000;

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/**
 * Processes that belong to runs in `dir`: the sandbox launch chain (what the
 * global teardown looks for, `inside/init.js` or `unshare --kill-child`)
 * carries the file's mounts, and so `dir`, in MOUNT_SANDBOX_INIT; everything
 * inside carries them in MOUNT_SANDBOX. Runs of other projects on the same
 * host are not ours to judge.
 */
function processesOf(dir: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    const environ = read(`/proc/${pid}/environ`);
    const cmdline = read(`/proc/${pid}/cmdline`)?.replace(/\0/g, ' ');
    if (environ?.includes(dir) || cmdline?.includes(dir)) found.push(`${pid} ${cmdline ?? ''}`);
  }
  // The launch chain, as ps shows it, must be among them if it is ours.
  for (const line of sandboxProcesses()) {
    const pid = line.trim().split(/\s+/)[0];
    if (read(`/proc/${pid}/environ`)?.includes(dir) && !found.some((f) => f.startsWith(`${pid} `))) found.push(line.trim());
  }
  return found;
}

/** A killed sandbox takes a moment to be reaped: wait up to 3 s for it to go. */
async function survivorsOf(dir: string): Promise<string[]> {
  let left = processesOf(dir);
  for (let i = 0; i < 30 && left.length > 0; i++) {
    await sleep(100);
    left = processesOf(dir);
  }
  return left;
}

function fileStatuses(results: FormattedTestResults): Record<string, string> {
  return Object.fromEntries(results.testResults.map((file) => [path.basename(file.name), file.status]));
}

/** The JSON output is the whole AggregatedResult; FormattedTestResults leaves numTodoTests out of its type. */
function counts(results: FormattedTestResults & { numTodoTests?: number }): Record<string, number | undefined> {
  const {
    numPassedTests, numFailedTests, numPendingTests, numTodoTests, numTotalTests,
    numPassedTestSuites, numFailedTestSuites, numRuntimeErrorTestSuites, numTotalTestSuites,
  } = results;
  return {
    numPassedTests, numFailedTests, numPendingTests, numTodoTests, numTotalTests,
    numPassedTestSuites, numFailedTestSuites, numRuntimeErrorTestSuites, numTotalTestSuites,
  };
}

function jestArgv(args: string[]): string[] {
  return [process.execPath, path.join(currentStage().project, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci=false', ...args];
}

const PARITY_FILES = [
  '01-math', '02-strings', '03-describe', '04-each', '05-each-template', '06-async', '07-skip', '08-todo', '09-only', '10-hooks',
  '11-throws', '12-timers', '13-mocks', '14-callback', '15-failing-hook', '16-describe-each', '17-concurrent', '18-assertions',
  '19-failing', '20-missing-module',
].map((name) => `${name}.test.js`);

describe.each(USERS)('the Jest runner as %s', (user: User) => {
  describe('a file that fails in every way a process can, next to a healthy one', () => {
    let failures: JestRun;
    let survivors: string[];

    beforeAll(async () => {
      const dir = copyFixture('failures');
      failures = await runJest(user, dir);
      survivors = await survivorsOf(dir);
    }, SLOW);

    const messageOf = (basename: string): string => fileResult(failures.results, basename).message;

    test('every file is reported, the healthy one passes, and the run fails', () => {
      expect(failures.code).toBe(1);
      expect(fileStatuses(failures.results)).toEqual({
        'exit-code.test.js': 'failed',
        'top-level-throw.test.js': 'failed',
        'segfault.test.js': 'failed',
        'hangs.test.js': 'failed',
        'prints-then-exits.test.js': 'failed',
        'healthy.test.js': 'passed',
      });
      expect(outcomes(failures.results)).toMatchObject({
        'healthy.test.js › healthy one': 'passed',
        'healthy.test.js › healthy two': 'passed',
      });
      expect(failures.results.numTotalTestSuites).toBe(6);
      expect(failures.results.numFailedTestSuites).toBe(5);
      expect(failures.results.numPassedTestSuites).toBe(1);
    });

    test('process.exit(3) in a test: the file fails saying it exited with code 3, and where exit was called', () => {
      const message = messageOf('exit-code.test.js');
      expect(message).toContain('exited with code 3');
      expect(message).toContain('process.exit called with "3"');
      expect(message).toMatch(/exit-code\.test\.js:6:11/);
      expect(failures.stderr).toContain('process.exit called with "3"');
    });

    test('a throw at the top level: the file fails with the error and its line', () => {
      const message = messageOf('top-level-throw.test.js');
      expect(message).toContain('Test suite failed to run');
      expect(message).toContain('thrown at the top level of top-level-throw.test.js');
      expect(message).toMatch(/top-level-throw\.test\.js:1:7/);
      expect(fileResult(failures.results, 'top-level-throw.test.js').assertionResults).toEqual([]);
    });

    test('killed by SIGSEGV: the file fails, and the runner names the signal', () => {
      const message = messageOf('segfault.test.js');
      expect(message).toContain('before reporting a result');
      // What Jest's own worker pool says in the same case: "signal=SIGSEGV".
      expect(message).toContain('SIGSEGV');
    });

    test('a test that never resolves times out; the rest of its file still runs', () => {
      const file = fileResult(failures.results, 'hangs.test.js');
      expect(outcomes(failures.results)).toMatchObject({
        'hangs.test.js › hangs': 'failed',
        'hangs.test.js › runs after the hang': 'passed',
      });
      expect(file.assertionResults[0].failureMessages?.join('\n')).toContain('Exceeded timeout of 300 ms for a test');
      expect(file.message).toContain('Exceeded timeout of 300 ms');
    });

    test('printing and then exiting (even with code 0) fails the file, quoting what it printed', () => {
      const message = messageOf('prints-then-exits.test.js');
      expect(message).toContain('exited with code 0');
      expect(message).toContain('stdout.write before exiting');
      expect(message).toContain('stderr.write before exiting');
      // The raw output also reached Jest's own streams, as from Jest's workers.
      expect(failures.stdout).toContain('stdout.write before exiting');
      expect(failures.stderr).toContain('stderr.write before exiting');
    });

    test('no sandbox process of the run survives it', () => {
      expect(survivors).toEqual([]);
    });
  });

  test('testEnvironment mount-sandbox without the runner: refused, naming the fix, before setupFiles or test code', async () => {
    const dir = copyFixture('no-runner');
    const marker = path.join(dir, 'marker');
    const markers = (): string[] => fs.readdirSync(dir).filter((name) => name.startsWith('marker.')).sort();

    const refused = await runJest(user, dir, [], { MARKER_PATH: marker });
    expect(refused.code).toBe(1);
    const file = fileResult(refused.results, 'writes-marker.test.js');
    expect(file.status).toBe('failed');
    expect(file.assertionResults).toEqual([]);
    expect(file.message).toContain('outside a sandbox');
    expect(file.message).toContain("runner: 'jest-environment-mount-sandbox/runner'");
    expect(file.message).toContain("preset: 'jest-environment-mount-sandbox'");
    expect(markers()).toEqual([]);

    // The markers do appear when the same project runs with a plain environment: their absence above means something.
    const plain = await runJest(user, dir, ['--testEnvironment=node'], { MARKER_PATH: marker });
    expect(plain.code).toBe(0);
    expect(markers()).toEqual(['marker.setup', 'marker.test', 'marker.top-level']);
  }, SLOW);

  test('a mixed project: only files with the docblock are sandboxed, the others see the host', async () => {
    const dir = copyFixture('mixed');
    // Next to the project, not in it: on the host, but never mounted into a sandbox.
    const hostOnly = `${dir}.host-only`;
    fs.writeFileSync(hostOnly, 'on the host only', { mode: 0o644 });
    try {
      const mixed = await runJest(user, dir, [], { HOST_ONLY_FILE: hostOnly });
      expect(outcomes(mixed.results)).toEqual({
        'plain-default.test.js › is not sandboxed': 'passed',
        'plain-default.test.js › sees the host': 'passed',
        'plain-docblock.test.js › an explicit node docblock is not sandboxed': 'passed',
        'sandboxed-one.test.js › is sandboxed': 'passed',
        'sandboxed-one.test.js › does not see the host': 'passed',
        'sandboxed-two.test.js › is sandboxed too, in a sandbox of its own': 'passed',
      });
      expect(mixed.code).toBe(0);
      expect(fs.existsSync(path.join(dir, '__tests__', 'written-by-sandboxed-two'))).toBe(false);
    } finally {
      fs.rmSync(hostOnly, { force: true });
    }
  }, SLOW);

  test('parity: the same outcomes and counts sandboxed (-i and -w 2) as with Jest\'s own runner and node environment', async () => {
    const dir = copyFixture('parity');
    const probe = path.join(dir, 'probe');
    fs.mkdirSync(probe);
    fs.chmodSync(probe, 0o777);
    const marks = (): number => fs.readdirSync(probe).length;
    const env = { PARITY_PROBE_DIR: probe };

    // The CLI flags override the preset's runner and environment: nothing sandboxed.
    const plain = await runJest(user, dir, ['--testEnvironment=node', '--runner=jest-runner'], env);
    expect(marks()).toBe(20);
    // The fixture exercises every status, and the baseline is Jest's.
    expect(Object.keys(fileStatuses(plain.results)).sort()).toEqual(PARITY_FILES);
    expect(new Set(Object.values(outcomes(plain.results)))).toEqual(new Set(['passed', 'failed', 'pending', 'todo']));
    expect(counts(plain.results)).toEqual({
      numPassedTests: 32, numFailedTests: 15, numPendingTests: 4, numTodoTests: 2, numTotalTests: 53,
      numPassedTestSuites: 5, numFailedTestSuites: 15, numRuntimeErrorTestSuites: 1, numTotalTestSuites: 20,
    });
    expect(plain.code).toBe(1);

    for (const args of [['-i'], ['-w', '2']]) {
      const sandboxed = await runJest(user, dir, args, env);
      expect({ args, outcomes: outcomes(sandboxed.results) }).toEqual({ args, outcomes: outcomes(plain.results) });
      expect({ args, files: fileStatuses(sandboxed.results) }).toEqual({ args, files: fileStatuses(plain.results) });
      expect({ args, counts: counts(sandboxed.results) }).toEqual({ args, counts: counts(plain.results) });
      expect(sandboxed.code).toBe(1);
      // No file of the sandboxed runs could write to the project on the host.
      expect(marks()).toBe(20);
    }
  }, SLOW);

  test('-t runs only the matching tests in the sandbox; the others are pending', async () => {
    const dir = copyFixture('parity');
    const filtered = await runJest(user, dir, ['-t', 'adds|upper', '01-math', '02-strings', '04-each']);
    expect(outcomes(filtered.results)).toEqual({
      '01-math.test.js › adds': 'passed',
      '01-math.test.js › multiplies': 'pending',
      '01-math.test.js › divides by zero': 'pending',
      '02-strings.test.js › upper-cases': 'passed',
      '02-strings.test.js › pads wrongly': 'pending',
      '04-each.test.js › adds 1 + 1 = 2': 'passed',
      '04-each.test.js › adds 2 + 2 = 4': 'passed',
      '04-each.test.js › adds 2 + 3 = 6': 'failed',
    });
    expect(filtered.results.numPendingTests).toBe(3);
    expect(filtered.code).toBe(1);
  }, SLOW);

  test('--bail stops the run at the first failure, and leaves no sandbox behind', async () => {
    const dir = copyFixture('parity');
    // Jest exits from inside the run when it bails, so there is no --json output to read.
    const bailed = await run(user, jestArgv(['--bail', '-w', '2']), { cwd: dir, timeoutMs: 120_000 });
    expect(bailed.code).toBe(1);
    const summary = /Test Suites: .*?(\d+) of 20 total/.exec(bailed.stderr);
    expect(summary).not.toBeNull();
    expect(Number(summary?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(summary?.[1])).toBeLessThan(20);
    expect(bailed.stderr).toMatch(/^FAIL /m);
    expect(await survivorsOf(dir)).toEqual([]);
  }, SLOW);

  test('--shard=1/2 and --shard=2/2 together run every file exactly once', async () => {
    const dir = copyFixture('parity');
    const selection = '0[1-8]-';
    const first = await runJest(user, dir, ['--shard=1/2', selection]);
    const second = await runJest(user, dir, ['--shard=2/2', selection]);
    const files = (r: JestRun): string[] => Object.keys(fileStatuses(r.results)).sort();
    expect(files(first).length).toBeGreaterThan(0);
    expect(files(second).length).toBeGreaterThan(0);
    expect(files(first).filter((name) => files(second).includes(name))).toEqual([]);
    expect([...files(first), ...files(second)].sort()).toEqual(PARITY_FILES.slice(0, 8));
    expect(first.results.numTotalTests + second.results.numTotalTests).toBe(25);
  }, SLOW);
});
