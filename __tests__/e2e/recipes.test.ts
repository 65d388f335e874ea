// The README's recipes, run exactly as printed, as root and as nobody:
// fixtures/recipe-* hold the README's config and test code.
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { USERS, type User } from '../helpers/run';

const SLOW = 120_000;

function failures(run: JestRun): string[] {
  return run.results.testResults.flatMap((file) => [...file.assertionResults.flatMap((a) => a.failureMessages ?? []), ...(file.assertionResults.length === 0 ? [file.message] : [])]);
}

describe.each(USERS)('README recipes as %s', (user: User) => {
  test('a CLI that writes to /etc: fixtures {"/etc": "/etc"} with uid root works, and the host\'s /etc is unchanged', async () => {
    const dir = copyFixture('recipe-etc');
    fs.chmodSync(path.join(dir, 'bin', 'mycli'), 0o755);
    const hosts = fs.readFileSync('/etc/hosts', 'utf8');
    const run = await runJest(user, dir, ['-w', '2']);
    expect({ outcomes: outcomes(run.results), failures: failures(run) }).toEqual({
      outcomes: {
        'install.test.js › install writes its config': 'passed',
        "install.test.js › the host's readable files are there, and may be changed too": 'passed',
      },
      failures: [],
    });
    expect(run.code).toBe(0);
    expect(fs.existsSync('/etc/myapp')).toBe(false);
    expect(fs.readFileSync('/etc/hosts', 'utf8')).toBe(hosts);
    const notice = /mount-sandbox: testEnvironmentOptions\.sandbox\.fixtures\["\/etc"\]: \/etc belongs to uid 0, not to you \(uid 65534\)[^\n]*, so \/etc is a copy, without \d+ entries it could not copy: [^\n]*"\/etc\/shadow" \(EACCES\)[,.][^\n]*They do not exist inside\. If a test needs them, run it as the owner of what it cannot read/;
    if (user === 'root') {
      // Root owns /etc: a real overlay, nothing left out.
      expect(run.stderr).not.toMatch(/is a copy/);
    } else {
      // Not root: a copy of what nobody may read; the notice names what is missing.
      expect(run.stderr).toMatch(notice);
    }
  }, SLOW);

  test('git commit in a test: without an identity it fails as reported; the README\'s env recipe makes it work', async () => {
    const bare = await runJest(user, copyFixture('recipe-git'), ['--config', 'without-identity.config.js']);
    expect(outcomes(bare.results)).toEqual({ 'commit.test.js › commits in a fresh repository': 'failed' });
    expect(failures(bare).join('\n')).toMatch(/Author identity unknown/);

    const run = await runJest(user, copyFixture('recipe-git'));
    expect({ outcomes: outcomes(run.results), failures: failures(run) }).toEqual({
      outcomes: { 'commit.test.js › commits in a fresh repository': 'passed' },
      failures: [],
    });
    expect(run.code).toBe(0);
  }, SLOW);
});
