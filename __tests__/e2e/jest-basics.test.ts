// Real Jest on fixture projects: results, failure locations, console output,
// and that each file's filesystem is its own and never the host's.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, fileResult, outcomes, runJest } from '../helpers/jest-run';
import { TEST_HOME, USERS, type User } from '../helpers/run';

describe.each(USERS)('Jest in the sandbox as %s', (user: User) => {
  test('passing and failing tests, the failure pointing at its line, console output shown', async () => {
    const dir = copyFixture('basic');
    const run = await runJest(user, dir, ['--runTestsByPath', '__tests__/outcomes.test.js']);
    expect(run.code).toBe(1);
    expect(outcomes(run.results)).toEqual({
      'outcomes.test.js › passes': 'passed',
      'outcomes.test.js › fails with a message pointing here': 'failed',
      'outcomes.test.js › logs to the console': 'passed',
    });
    const failure = fileResult(run.results, 'outcomes.test.js').assertionResults[1].failureMessages?.join('\n') ?? '';
    expect(failure).toContain('"answer": 42');
    expect(failure).toMatch(/outcomes\.test\.js:6:26/);
    expect(run.stderr).toMatch(/>\s+6 \|\s+expect\(\{ answer: 41 \}\)/);
    expect(run.stderr).toContain('hello from inside the sandbox');
  });

  test('a test file proves it is sandboxed', async () => {
    const dir = copyFixture('basic');
    const run = await runJest(user, dir, ['--runTestsByPath', '__tests__/probe.test.js']);
    expect(run.stderr).not.toMatch(/✕/);
    expect(run.results.numFailedTests).toBe(0);
    expect(run.results.numPassedTests).toBe(4);
    expect(fs.existsSync(path.join(dir, '__tests__', 'written-by-test'))).toBe(false);
  });

  test('writes under /tmp, $HOME, / and /var reach neither the next file nor the host', async () => {
    const dir = copyFixture('isolation');
    const marker = `ms-isolation-${crypto.randomBytes(6).toString('hex')}`;
    const run = await runJest(user, dir, ['-w', '2'], { ISOLATION_MARKER: marker });
    expect(outcomes(run.results)).toEqual({
      'a-writes.test.js › writes everywhere that is writable, sync': 'passed',
      'a-writes.test.js › writes everywhere that is writable, async': 'passed',
      'b-sees-nothing.test.js › the next file starts from a fresh filesystem': 'passed',
    });
    for (const where of ['/tmp', TEST_HOME, '/', '/var', '/var/tmp', '/root']) {
      for (const suffix of ['-sync', '-async']) expect(fs.existsSync(path.join(where, marker + suffix))).toBe(false);
    }
  });

  test('projects: the runner is per project, so one project is sandboxed and the other is not', async () => {
    const dir = copyFixture('projects');
    const run = await runJest(user, dir);
    expect(outcomes(run.results)).toEqual({
      'plain.test.js › runs on the host, unsandboxed': 'passed',
      'sandboxed.test.js › runs in a sandbox that cannot see its sibling project': 'passed',
    });
  });
});
