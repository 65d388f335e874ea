// Node's once-per-process warnings are once per sandboxed file, since each
// file is a fresh process; the runner shows them once per run, and never
// drops a test's own output.
import { copyFixture, runJest } from '../helpers/jest-run';
import { USERS } from '../helpers/run';

function count(text: string, what: RegExp): number {
  return text.match(new RegExp(what.source, 'gm'))?.length ?? 0;
}

test.each(USERS)('as %s: an ExperimentalWarning of three sandboxed files prints once; their own stderr three times', async (user) => {
  const dir = copyFixture('once-warnings');
  const run = await runJest(user, dir, ['-w', '2'], { NODE_OPTIONS: '--experimental-vm-modules' });
  expect(run.results.numPassedTests).toBe(3);
  expect(count(run.stderr, /^\(node:\d+\) ExperimentalWarning: VM Modules is an experimental feature/)).toBe(1);
  expect(count(run.stderr, /^\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)$/)).toBe(1);
  expect(count(run.stderr, /^own stderr line of every file$/)).toBe(3);
});
