// What the sandbox gives beyond isolation: a suite whose files share fixed
// paths (in the project, in /tmp, in $HOME) must run with --runInBand under
// plain Jest, and may run in parallel sandboxed. Fixture: fixtures/fixed-paths,
// whose barrier makes the collision under plain Jest certain rather than luck.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { USERS, type User } from '../helpers/run';
import { currentStage } from '../helpers/stage';

const SLOW = 240_000;
const PLAIN = ['--testEnvironment=node', '--runner=jest-runner'];
const TESTS = ['project', 'tmp', 'home'].flatMap((place) => ['a', 'b'].map((id) => `${id}.test.js › ${place}: reads back only what this file wrote`)).sort();

/** The overlay copies up only files of the mapped owner: as nobody, the project is nobody's, as it would be. */
function ownedBy(user: User, dir: string): string {
  if (user === 'nobody' && process.getuid?.() === 0) execFileSync('chown', ['-R', '-h', '65534:65534', dir]);
  return dir;
}

function statuses(run: JestRun): Record<string, string> {
  return Object.fromEntries(Object.entries(outcomes(run.results)).sort());
}

function failures(run: JestRun): string[] {
  return run.results.testResults.flatMap((file) => file.assertionResults.flatMap((a) => a.failureMessages ?? []));
}

describe.each(USERS)('a suite that needs --runInBand, as %s', (user: User) => {
  // Under plain Jest the files write to the host's /tmp and to this $HOME: names unique to this run, removed after.
  const runId = `${user}-${crypto.randomBytes(6).toString('hex')}`;
  let home: string;
  let env: Record<string, string>;

  beforeAll(() => {
    home = fs.mkdtempSync(path.join(currentStage().root, 'fixed-paths-home-'));
    fs.chmodSync(home, 0o777);
    env = { HOME: home, FIXED_PATHS_RUN: runId };
  });

  afterAll(() => {
    fs.rmSync(`/tmp/fixed-paths-${runId}`, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  });

  test('plain Jest: passes in band, fails in parallel (-w 2) on every fixed path', async () => {
    const inBand = await runJest(user, ownedBy(user, copyFixture('fixed-paths')), [...PLAIN, '--runInBand'], env);
    expect({ statuses: statuses(inBand), failures: failures(inBand) }).toEqual({ statuses: Object.fromEntries(TESTS.map((t) => [t, 'passed'])), failures: [] });

    const parallel = await runJest(user, ownedBy(user, copyFixture('fixed-paths')), [...PLAIN, '-w', '2'], { ...env, FIXED_PATHS_BARRIER: '1' });
    expect(statuses(parallel)).toEqual(Object.fromEntries(TESTS.map((t) => [t, 'failed'])));
    // Each file found the other's file next to its own: the collision, not a timeout or a crash.
    const messages = failures(parallel);
    expect(messages).toHaveLength(6);
    for (const message of messages) expect(message).toMatch(/"a\.txt",\s*\+?\s*"b\.txt"/);
    expect(parallel.code).toBe(1);
    // They cleaned up after themselves, as a suite that runs in band must.
    expect(fs.existsSync(`/tmp/fixed-paths-${runId}`)).toBe(false);
    expect(fs.readdirSync(home)).toEqual([]);
  }, SLOW);

  test('sandboxed: passes in parallel (-w 2), each file reading back only its own', async () => {
    const dir = ownedBy(user, copyFixture('fixed-paths'));
    const sandboxed = await runJest(user, dir, ['-w', '2'], { ...env, FIXED_PATHS_BARRIER: '1' });
    expect({ statuses: statuses(sandboxed), failures: failures(sandboxed) }).toEqual({ statuses: Object.fromEntries(TESTS.map((t) => [t, 'passed'])), failures: [] });
    expect(sandboxed.code).toBe(0);
    // Both files crossed the shared barrier, so they ran at the same time.
    expect(fs.readdirSync(path.join(dir, 'barrier')).sort()).toEqual(['.gitkeep', 'a-checked', 'a-wrote', 'b-checked', 'b-wrote']);
    // Nothing reached the host's fixed paths.
    expect(fs.existsSync(path.join(dir, 'shared-state'))).toBe(false);
    expect(fs.existsSync(`/tmp/fixed-paths-${runId}`)).toBe(false);
    expect(fs.readdirSync(home)).toEqual([]);
  }, SLOW);
});
