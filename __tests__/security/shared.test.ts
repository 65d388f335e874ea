// The adversarial suite, third part: what a sandbox shares with the host or
// with other projects other than its mounts. Per user, three real Jest runs:
// fixtures/hostile-shared-victim (which puts its compiled test into the
// sandboxes' cache), then fixtures/hostile-shared with the same
// cacheDirectory, started in a session keyring of its own that holds a key
// (host-session.js), with a $HOME and a TMPDIR below /tmp and with a SysV
// shared memory segment and a POSIX message queue made here on the host;
// then the victim again. Every hostile file must pass (its attack failed),
// the victim must run its own code, and afterwards the host must hold none of
// what the sandbox made: no planted key, no IPC object, no file in the host's
// $HOME or TMPDIR folders.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, fileFailures, fileResult, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { USERS, type User } from '../helpers/run';
import { REPO, currentStage } from '../helpers/stage';

const FIXTURE = 'hostile-shared';
const VICTIM = 'hostile-shared-victim';
const ATTACKS = ['ipc.test.js', 'keyring.test.js', 'cgroup.test.js', 'home-tmpdir.test.js', 'cache-poison.test.js'];

/** The fixture's own koffi bindings (fixtures/hostile-shared/native.js), used here on the host. */
interface Native {
  shm: { create(key: number, mode?: number): number | string; find(key: number): number | string; remove(id: number): string };
  mq: { create(name: string): string; open(name: string): string; unlink(name: string): string };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require(path.join(REPO, 'fixtures', FIXTURE, 'native.js')) as Native;

interface KeyringReport {
  description: string;
  session: string[] | string;
  user: string[] | string;
  userSession: string[] | string;
  secretIntact: boolean;
}

function listing(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch (error) {
    return [`unreadable: ${(error as NodeJS.ErrnoException).code}`];
  }
}

function removeShm(key: number): void {
  const id = native.shm.find(key);
  if (typeof id === 'number') native.shm.remove(id);
}

describe.each(USERS)('hostile test files, as %s, share no IPC, keys, cgroups, cache or $HOME with the host or other projects', (user: User) => {
  const marker = crypto.randomBytes(6).toString('hex');
  const ipc = {
    shmKey: crypto.randomInt(1, 2 ** 31 - 1),
    mq: `/hostile-host-${marker}`,
    leftShmKey: crypto.randomInt(1, 2 ** 31 - 1),
    leftMq: `/hostile-left-${marker}`,
  };
  let dir: string;
  let victim: string;
  let shared: string;
  let home: string;
  let tmpdir: string;
  let run: JestRun;
  let victimBefore: JestRun;
  let victimAfter: JestRun;
  let keyring: KeyringReport;

  beforeAll(async () => {
    const stage = currentStage();
    dir = copyFixture(FIXTURE);
    victim = copyFixture(VICTIM);
    // Both projects' cacheDirectory, as Jest's per-user default would be.
    shared = path.join(path.dirname(dir), `shared-cache-${marker}`);
    // Below /tmp (the stage is there), as CI often has them; each holds a canary.
    home = path.join(stage.root, `ci-home-${marker}`);
    tmpdir = path.join(stage.root, `ci-tmp-${marker}`);
    for (const d of [shared, home, tmpdir]) {
      fs.mkdirSync(d, { mode: 0o777 });
      fs.chmodSync(d, 0o777);
    }
    for (const d of [home, tmpdir]) fs.writeFileSync(path.join(d, 'canary'), `host ${marker}\n`, { mode: 0o666 });
    // Open to every uid, so that only the sandbox stands between nobody and them.
    const shmId = native.shm.create(ipc.shmKey, 0o666);
    if (typeof shmId !== 'number') throw new Error(`cannot make the host's shared memory segment: ${shmId}`);
    const made = native.mq.create(ipc.mq);
    if (made !== 'ok') throw new Error(`cannot make the host's message queue: ${made}`);
    const env = {
      HOSTILE_MARKER: marker,
      HOSTILE_SHARED_CACHE: shared,
      HOME: home,
      TMPDIR: tmpdir,
      HOSTILE_HOME: home,
      HOSTILE_TMPDIR: tmpdir,
      HOSTILE_SHM_KEY: String(ipc.shmKey),
      HOSTILE_SHM_ID: String(shmId),
      HOSTILE_MQ: ipc.mq,
      HOSTILE_LEFT_SHM_KEY: String(ipc.leftShmKey),
      HOSTILE_LEFT_MQ: ipc.leftMq,
    };
    victimBefore = await runJest(user, victim, [], env);
    const report = path.join(dir, `keyring-${marker}.json`);
    run = await runJest(user, dir, ['-w', '2'], env, 120_000, [process.execPath, path.join(dir, 'host-session.js'), report, '--']);
    keyring = JSON.parse(fs.readFileSync(report, 'utf8')) as KeyringReport;
    victimAfter = await runJest(user, victim, [], env);
  }, 300_000);

  afterAll(() => {
    for (const key of [ipc.shmKey, ipc.leftShmKey]) removeShm(key);
    for (const name of [ipc.mq, ipc.leftMq]) native.mq.unlink(name);
    for (const d of [shared, home, tmpdir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  test('every hostile file ran', () => {
    expect(listing(path.join(REPO, 'fixtures', FIXTURE, '__tests__'))).toEqual([...ATTACKS].sort());
    expect(run.results.testResults.map((file) => path.basename(file.name)).sort()).toEqual([...ATTACKS].sort());
  });

  test.each(ATTACKS)('%s: the attack failed (the file passed)', (file) => {
    expect(fileFailures(run.results, file)).toEqual({ file, status: 'passed', message: '', failures: [] });
    expect(fileResult(run.results, file).assertionResults.length).toBeGreaterThan(0);
  });

  test('IPC objects made inside did not outlive the sandbox on the host; the host\'s own are intact', () => {
    expect({ shm: native.shm.find(ipc.leftShmKey), mq: native.mq.open(ipc.leftMq) }).toEqual({ shm: 'ENOENT', mq: 'ENOENT' });
    expect(typeof native.shm.find(ipc.shmKey)).toBe('number');
    expect(native.mq.open(ipc.mq)).toBe('ok');
  });

  test('no key planted inside reached the host\'s session or user keyrings, and the host\'s key is intact', () => {
    expect(keyring.session).toEqual([keyring.description]);
    for (const ring of [keyring.user, keyring.userSession]) {
      expect(Array.isArray(ring) ? ring.filter((d) => d.includes(marker)) : ring).toEqual([]);
    }
    expect(keyring.secretIntact).toBe(true);
  });

  test('the other project ran its own compiled code, before and after, from a cache of its own', () => {
    const expected = { 'victim.test.js › runs its own compiled code': 'passed' };
    expect(outcomes(victimBefore.results)).toEqual(expected);
    expect(outcomes(victimAfter.results)).toEqual(expected);
    // One folder per project in <cacheDirectory>/mount-sandbox, and nothing else.
    const folders = listing(path.join(shared, 'mount-sandbox')).map((name) => name.replace(/-[0-9a-f]{16}$/, '-<hash>'));
    expect(folders).toEqual([`${path.basename(dir)}-<hash>`, `${path.basename(victim)}-<hash>`].sort());
  });

  test('the host\'s $HOME and TMPDIR folders hold their canary and nothing written inside', () => {
    for (const d of [home, tmpdir]) {
      expect([d, listing(d)]).toEqual([d, ['canary']]);
      expect(fs.readFileSync(path.join(d, 'canary'), 'utf8')).toBe(`host ${marker}\n`);
    }
  });
});
