// Stress: 300 small test files with -w 2, run back to back as each user (root
// then nobody when the suite runs as root): every run passes completely, with
// no flakes and nothing left behind on the host. Two runs are 600 fresh
// sandboxes, enough to catch a leak or a race, in under five minutes on 2
// cores; STRESS_RUNS=5 repeats the old soak (it cost 11 of the suite's 27
// minutes) when hunting a flake.
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, runJest } from '../helpers/jest-run';
import { mountPoints, sandboxProcessesIn } from '../helpers/host-state';
import { USERS, type User } from '../helpers/run';

const FILES = Number(process.env.STRESS_FILES ?? 300);
const RUN_COUNT = Number(process.env.STRESS_RUNS ?? 2);
const RUNS: User[] = Array.from({ length: RUN_COUNT }, (_, i) => USERS[i % USERS.length]);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe(`stress: ${FILES} files, -w 2, ${RUNS.length} runs in a row`, () => {
  let dir: string;

  beforeAll(() => {
    dir = copyFixture('stress');
    const tests = path.join(dir, '__tests__');
    fs.mkdirSync(tests);
    fs.chmodSync(tests, 0o777);
    for (let i = 0; i < FILES; i++) {
      fs.writeFileSync(path.join(tests, `small-${String(i).padStart(3, '0')}.test.js`), `const fs = require('fs');
test('file ${i} writes, reads and cleans nothing up', async () => {
  await fs.promises.writeFile('/tmp/stress', '${i}');
  expect(fs.readFileSync('/tmp/stress', 'utf8')).toBe('${i}');
});\n`, { mode: 0o644 });
    }
  });

  test.each(RUNS.map((user, i) => [i + 1, user] as const))('run %i as %s: all pass, nothing left behind', async (_run, user) => {
    const mountsBefore = mountPoints();
    const tmpBefore = fs.readdirSync('/tmp');
    // 300 fresh sandboxes take a minute or two on 2 cores, longer while other suites run beside this one.
    const run = await runJest(user, dir, ['-w', '2'], {}, 600_000);
    const firstFailure = run.results.testResults.find((file) => file.status !== 'passed')?.message.slice(0, 2000);
    expect({ passed: run.results.numPassedTests, failed: run.results.numFailedTests, suitesFailed: run.results.numFailedTestSuites, firstFailure })
      .toEqual({ passed: FILES, failed: 0, suitesFailed: 0, firstFailure: undefined });
    expect(run.code).toBe(0);
    for (let i = 0; i < 30 && sandboxProcessesIn(dir).length > 0; i++) await sleep(100);
    expect(sandboxProcessesIn(dir)).toEqual([]);
    expect(mountPoints().filter((m) => !mountsBefore.includes(m))).toEqual([]);
    // Only entries other suites running meanwhile may make (stages and Jest's caches).
    expect(fs.readdirSync('/tmp').filter((e) => !tmpBefore.includes(e) && !/^(jest_|mount-sandbox-stage-)/.test(e))).toEqual([]);
  }, 900_000);
});
