// The adversarial suite for the runner's channel and for what Jest's process
// does with a sandboxed file's result. Test code can write to the channel
// and shape its own result, so: garbage or an oversize frame must fail that
// file only (every other result survives, nothing is left behind); a forged
// count must not hide another file's failure; and coverage, stacks and
// console origins must never make Jest's process open a host file the
// sandbox could not see, or write outside the coverage report. Each attack
// runs with real Jest from fixtures/hostile-channel, as root and as nobody.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, fileResult, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { sandboxProcessesIn } from '../helpers/host-state';
import { currentStage } from '../helpers/stage';
import { USERS, type User } from '../helpers/run';
import { until } from '../helpers/wait';

const RUN_TIMEOUT = 180_000;
const FIXTURE = 'hostile-channel';
const HEALTHY = {
  'healthy.test.js › a healthy test passes': 'passed',
  'healthy.test.js › a second healthy test passes': 'passed',
};

/** The folders where the runner makes its pids cgroups (as root): `<pids hierarchy>/<our cgroup>/mount-sandbox`. */
function cgroupParents(): string[] {
  const membership = fs.readFileSync('/proc/self/cgroup', 'utf8');
  const parents: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    if (separator < 0) continue;
    const [fsType, , options] = fields.slice(separator + 1);
    const own = fsType === 'cgroup' && options?.split(',').includes('pids')
      ? /^\d+:(?:[^:]*,)?pids(?:,[^:]*)?:(.*)$/m.exec(membership)?.[1]
      : fsType === 'cgroup2' ? /^0::(.*)$/m.exec(membership)?.[1] : undefined;
    if (own !== undefined) parents.push(path.join(fields[4], own, 'mount-sandbox'));
  }
  return parents;
}

/** Pids cgroups whose creator (the Jest process named in the folder's name) is gone: leaks. */
function orphanCgroups(): string[] {
  return cgroupParents().flatMap((parent) => {
    let names: string[];
    try {
      names = fs.readdirSync(parent);
    } catch {
      return [];
    }
    return names.filter((name) => {
      const pid = Number(name.split('-')[0]);
      return Number.isInteger(pid) && !fs.existsSync(`/proc/${pid}`);
    }).map((name) => path.join(parent, name));
  });
}

/** Every file below `dir`, skipping node_modules (the stage's own are large and read-only to the runs). */
function filesBelow(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : filesBelow(p);
    return [p];
  });
}

function run(user: User, files: string[], args: string[] = [], env: Record<string, string> = {}): Promise<{ dir: string; jest: JestRun }> {
  const dir = copyFixture(FIXTURE);
  return runJest(user, dir, ['-w', '2', ...args, '--runTestsByPath', ...files.map((f) => `__tests__/${f}`)], env).then((jest) => ({ dir, jest }));
}

describe.each(USERS)('the runner\'s channel as %s', (user: User) => {
  test.each([
    ['garbage.test.js', /mount-sandbox: the sandboxed test process sent a frame of \d+ bytes that is not JSON on its channel to the runner, so its sandbox was killed/],
    ['oversize.test.js', /mount-sandbox: the sandboxed test process sent a frame of 209715200 bytes, above the limit of 134217728 on its channel to the runner/],
  ])('%s fails that file alone, with the reason; the run and the healthy file beside it go on; nothing is left behind', async (file, reason) => {
    const orphansBefore = orphanCgroups();
    let outcome: { dir: string; jest: JestRun } | undefined;
    let crash: string | undefined;
    try {
      outcome = await run(user, [file, 'healthy.test.js']);
    } catch (error) {
      crash = (error as Error).message.slice(0, 3000);
    }
    expect(crash).toBeUndefined();
    if (!outcome) return;
    const { dir, jest } = outcome;
    expect(jest.signal).toBeNull();
    expect(jest.code).toBe(1);
    expect(Object.fromEntries(Object.entries(outcomes(jest.results)).filter(([name]) => name.startsWith('healthy')))).toEqual(HEALTHY);
    const result = fileResult(jest.results, file);
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(reason);
    expect(await until(() => sandboxProcessesIn(dir).length === 0, 3000)).toBe(true);
    // The runner lived to release every sandbox's pids cgroup (root only makes them).
    expect(await until(() => orphanCgroups().filter((g) => !orphansBefore.includes(g)).length === 0, 3000)).toBe(true);
  }, RUN_TIMEOUT);

  test('a console origin of one quadratic line is cut before Jest\'s process parses it: the run ends, and both files pass', async () => {
    // Uncut, the line held Jest's process for many minutes, far past this test's timeout.
    const { jest } = await run(user, ['slow-stack.test.js', 'healthy.test.js']);
    expect(jest.signal).toBeNull();
    expect(jest.code).toBe(0);
    expect(fileResult(jest.results, 'slow-stack.test.js').status).toBe('passed');
    expect(Object.fromEntries(Object.entries(outcomes(jest.results)).filter(([name]) => name.startsWith('healthy')))).toEqual(HEALTHY);
  }, RUN_TIMEOUT);

  test('a forged failure whose stack is a long run of blank lines is cut before Jest\'s process formats it: the file fails with it, the healthy one passes', async () => {
    const { jest } = await run(user, ['blank-lines.test.js', 'healthy.test.js']);
    expect(jest.signal).toBeNull();
    expect(jest.code).toBe(1);
    const file = fileResult(jest.results, 'blank-lines.test.js');
    expect(file.status).toBe('failed');
    expect(file.message).toMatch(/boom[\s\S]*more blank lines cut by mount-sandbox/);
    expect(Object.fromEntries(Object.entries(outcomes(jest.results)).filter(([name]) => name.startsWith('healthy')))).toEqual(HEALTHY);
  }, RUN_TIMEOUT);

  test('a forged result with numFailingTests: -1 fails its own file and cannot hide another file\'s real failure', async () => {
    const { jest } = await run(user, ['forged-count.test.js', 'really-fails.test.js', 'healthy.test.js']);
    expect(jest.signal).toBeNull();
    expect({ code: jest.code, numFailedTests: jest.results.numFailedTests, success: jest.results.success }).toEqual({ code: 1, numFailedTests: 1, success: false });
    expect(fileResult(jest.results, 'really-fails.test.js').status).toBe('failed');
    const forged = fileResult(jest.results, 'forged-count.test.js');
    expect(forged.status).toBe('failed');
    expect(forged.message).toContain('numFailingTests is -1, expected a count');
    expect(Object.fromEntries(Object.entries(outcomes(jest.results)).filter(([name]) => name.startsWith('healthy')))).toEqual(HEALTHY);
  }, RUN_TIMEOUT);

  describe.each([
    ['forged-coverage.test.js', 'coverage keyed by a host secret\'s path, and a console origin naming it', ['the secret does not exist inside the sandbox', 'forges coverage entries that name the secret', 'logs an error whose origin names the secret']],
    ['dotted-coverage.test.js', 'a coverage key with `..` segments out of the project', ['forges a coverage key with `..` segments']],
  ])('%s: %s', (file, _what, tests) => {
    let secretDir: string;
    let secretFile: string;
    let marker: string;
    let dir: string;
    let jest: JestRun;
    let outsideBefore: string[];

    beforeAll(async () => {
      const stage = currentStage().root;
      marker = `TOP-SECRET-${crypto.randomBytes(8).toString('hex')}`;
      secretDir = fs.mkdtempSync(path.join(stage, `secret-${user}-`));
      fs.chmodSync(secretDir, 0o755);
      secretFile = path.join(secretDir, 'credentials.js');
      // Root's file, readable by Jest's process as either user: only the sandbox must stand between it and the report.
      fs.writeFileSync(secretFile, `module.exports = '${marker}'; // line one of the secret\n`, { mode: 0o644 });
      if (process.getuid?.() === 0) fs.chownSync(secretFile, 0, 0);
      outsideBefore = filesBelow(stage);
      ({ dir, jest } = await run(user, [file, 'healthy.test.js'], ['--coverage', '--coverageReporters=html', '--coverageReporters=lcov', '--coverageReporters=json'], { HOSTILE_SECRET: secretFile }));
    }, RUN_TIMEOUT);

    afterAll(() => fs.rmSync(secretDir, { recursive: true, force: true }));

    test('the run itself is sound: the sandboxed file could not see the secret and passed, and so did the healthy one', () => {
      expect(jest.signal).toBeNull();
      expect(outcomes(jest.results)).toEqual({ ...HEALTHY, ...Object.fromEntries(tests.map((name) => [`${file} › ${name}`, 'passed'])) });
      expect(fs.existsSync(path.join(dir, 'coverage', 'lcov-report', 'index.html'))).toBe(true);
    });

    test('no report or results file holds the secret\'s text', () => {
      const holding = filesBelow(dir).filter((f) => fs.readFileSync(f, 'latin1').includes(marker));
      expect(holding).toEqual([]);
    });

    test('Jest\'s output holds no code frame of the secret', () => {
      expect(jest.stdout).not.toContain(marker);
      expect(jest.stderr).not.toContain(marker);
    });

    test('the reports cover the project\'s own source and name no path outside the project', () => {
      const coverage = JSON.parse(fs.readFileSync(path.join(dir, 'coverage', 'coverage-final.json'), 'utf8')) as Record<string, unknown>;
      expect(Object.keys(coverage)).toEqual([path.join(dir, 'src', 'lib.js')]);
      expect(fs.readFileSync(path.join(dir, 'coverage', 'lcov.info'), 'utf8')).not.toContain(secretDir);
    });

    test('the dropped entries are named in a warning', () => {
      if (file === 'forged-coverage.test.js') expect(jest.stderr).toContain(`dropped coverage for ${JSON.stringify(secretFile)}: lies outside the project's roots`);
      expect(jest.stderr).toMatch(/dropped coverage for "[^"]*\/src\/\.\.\/[^"]*credentials\.js": not a normalized path/);
    });

    test('nothing was written outside the fixture copy, in the stage around it', () => {
      // The stage is this test run's own, and this file's runs go one at a time: whatever is new outside the copy came from this run.
      const created = filesBelow(currentStage().root).filter((f) => !outsideBefore.includes(f) && !f.startsWith(`${dir}${path.sep}`));
      expect(created).toEqual([]);
      expect(fs.readdirSync(secretDir)).toEqual(['credentials.js']);
    });
  });
});
