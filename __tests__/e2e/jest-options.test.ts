// The sandbox options under real Jest, as root and as nobody: each option's
// effect from inside a test file, and the host unchanged (or changed exactly
// as asked) afterwards. Fixtures: fixtures/options-*.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FormattedTestResults } from '@jest/test-result';
import { copyFixture, fileResult, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { USERS, type User } from '../helpers/run';
import { sleep } from '../helpers/wait';

const SLOW = 120_000;
/** Mounting on the host (for propagation) needs the test suite itself to be root. */
const SUITE_IS_ROOT = process.getuid?.() === 0;

function uidOf(user: User): number {
  if (user === 'root') return 0;
  return SUITE_IS_ROOT ? 65534 : (process.getuid?.() ?? -1);
}

/** sha256 over every directory and file below `dir` (path and content), sorted: equal means byte-identical. */
function treeHash(dir: string): string {
  const entries: string[] = [];
  const walk = (at: string, rel: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const p = path.join(at, entry.name);
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        entries.push(`D ${r}`);
        walk(p, r);
      } else if (entry.isSymbolicLink()) {
        entries.push(`L ${r} -> ${fs.readlinkSync(p)}`);
      } else {
        entries.push(`F ${r} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
      }
    }
  };
  walk(dir, '');
  return crypto.createHash('sha256').update(entries.sort().join('\n')).digest('hex');
}

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** git on the host, as the test suite's user (root in CI). */
function git(dir: string, args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=options-test', '-c', 'user.email=options-test@invalid', '-c', 'init.defaultBranch=main', '-c', 'safe.directory=*', ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.homedir(), GIT_CONFIG_NOSYSTEM: '1' },
  });
}

/**
 * A project belongs to whoever runs its tests: as nobody, so does the copy.
 * (overlayfs in a user namespace copies up only files whose owner it maps; a
 * separate test covers files of another owner.)
 */
function ownedBy(user: User, dir: string): string {
  if (user === 'nobody' && SUITE_IS_ROOT) execFileSync('chown', ['-R', '-h', '65534:65534', dir]);
  return dir;
}

function fileStatuses(results: FormattedTestResults): Record<string, string> {
  return Object.fromEntries(results.testResults.map((file) => [path.basename(file.name), file.status]));
}

/** Every failure of the run, by file or test, cut short: shown next to the outcomes when they differ. */
function failuresIn(run: JestRun): Record<string, string> {
  const found: Record<string, string> = {};
  for (const file of run.results.testResults) {
    const rel = path.basename(file.name);
    for (const assertion of file.assertionResults) {
      if (assertion.status === 'failed') found[`${rel} › ${assertion.fullName}`] = (assertion.failureMessages ?? []).join('\n').slice(0, 1500);
    }
    if (file.assertionResults.length === 0 && file.status === 'failed') found[rel] = file.message.slice(0, 1500);
  }
  return found;
}

/** The run's outcomes are exactly `expected`, all passing; on a mismatch the failure messages say why. */
function expectAllPassed(run: JestRun, expected: Record<string, string>): void {
  expect({ outcomes: outcomes(run.results), failures: failuresIn(run) }).toEqual({ outcomes: expected, failures: {} });
}

/** One test of the run passed; if not, its failure message says why. */
function expectPassed(run: JestRun, name: string): void {
  expect({ outcome: outcomes(run.results)[name], failure: failuresIn(run)[name] }).toEqual({ outcome: 'passed', failure: undefined });
}

/** The file's failure message, with its outcome, for readable failures. */
function failureOf(run: JestRun, basename: string): { status: string; tests: number; message: string } {
  const file = fileResult(run.results, basename);
  return { status: file.status, tests: file.assertionResults.length, message: file.message };
}

describe.each(USERS)('sandbox options under Jest as %s', (user: User) => {
  test('binds: read-only by default, writable on request, <rootDir> and relative sources, shorthand, optional; uid root; allowPrivileged', async () => {
    const dir = ownedBy(user, copyFixture('options-binds'));
    const roHash = treeHash(path.join(dir, 'host-data/ro'));
    const shortHash = treeHash(path.join(dir, 'host-data/short'));
    const hostRun = fs.readdirSync('/run').sort();
    const run = await runJest(user, dir, ['-w', '2'], { HOST_RUN_ENTRIES: hostRun.join('\n') });
    expectAllPassed(run, {
      'binds.test.js › an object bind with <rootDir> is read-only by default: content visible, writes refused with EROFS': 'passed',
      'binds.test.js › writable: true with a relative source: a write and an append reach the host file': 'passed',
      'binds.test.js › string shorthand "SRC:DST", with <rootDir> and with a relative SRC, is read-only': 'passed',
      'binds.test.js › string shorthand without DST binds at the source path: read-only inside the otherwise writable project': 'passed',
      'binds.test.js › optional: true with a missing source is skipped': 'passed',
      'uid-root.test.js › uid root: the test runs as uid 0': 'passed',
      'uid-root.test.js › a file written into the writable bind as uid 0 inside': 'passed',
      'privileged-allowed.test.js › allowPrivileged: /run is bound read-only': 'passed',
      'privileged-allowed.test.js › the docblock binds add to the project binds, never replace them': 'passed',
    });
    expect(run.code).toBe(0);

    // The writable bind's writes are on the host, owned by the real user, whatever the uid inside.
    const rw = path.join(dir, 'host-data/rw');
    expect(fs.readdirSync(rw).sort()).toEqual(['existing.txt', 'written-as-uid-root.txt', 'written-in-sandbox.txt']);
    expect(fs.readFileSync(path.join(rw, 'existing.txt'), 'utf8')).toBe('existing\nappended in sandbox\n');
    expect(fs.readFileSync(path.join(rw, 'written-in-sandbox.txt'), 'utf8')).toBe(`written by uid ${uidOf(user)}\n`);
    expect(fs.readFileSync(path.join(rw, 'written-as-uid-root.txt'), 'utf8')).toBe('from uid 0 inside\n');
    expect(fs.statSync(path.join(rw, 'written-in-sandbox.txt')).uid).toBe(uidOf(user));
    expect(fs.statSync(path.join(rw, 'written-as-uid-root.txt')).uid).toBe(uidOf(user));
    expect(fs.statSync(path.join(rw, 'written-as-uid-root.txt')).gid).toBe(uidOf(user));

    // Everything read-only (and the overlay project around them) is as it was.
    expect(treeHash(path.join(dir, 'host-data/ro'))).toBe(roHash);
    expect(treeHash(path.join(dir, 'host-data/short'))).toBe(shortHash);
    expect(fs.existsSync(path.join(dir, 'host-data/next-to-short.txt'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'host-data/not-there'))).toBe(false);
    expect(fs.existsSync('/mnt/ro')).toBe(false);
    expect(fs.readdirSync('/run').sort()).toEqual(hostRun);
  }, SLOW);

  test("rootSize '1m': 2 MB on the root give ENOSPC and the next file is fine; sized tmpfs mounts", async () => {
    const dir = ownedBy(user, copyFixture('options-size'));
    const run = await runJest(user, dir, ['-i']);
    expectAllPassed(run, {
      'a-fills-root.test.js › the root tmpfs is 1 MiB': 'passed',
      'a-fills-root.test.js › writing 2 MB to /data-file fails with ENOSPC': 'passed',
      'b-next-file.test.js › the next file has a fresh root: no /data-file, and 512 KB fit': 'passed',
      'c-tmpfs.test.js › /scratch is a 256 KiB tmpfs: df says so, and writing 300 KB fails with ENOSPC': 'passed',
      'c-tmpfs.test.js › /big is a 2 MiB tmpfs: 1.5 MB fit there, more than the whole root': 'passed',
      "c-tmpfs.test.js › /unsized gets the root's size, 1 MiB, not the kernel's half of the host's memory": 'passed',
    });
    // In this order, one at a time: b ran after a had filled its root.
    expect(run.results.testResults.map((file) => path.basename(file.name))).toEqual(['a-fills-root.test.js', 'b-next-file.test.js', 'c-tmpfs.test.js']);
    for (const p of ['/data-file', '/scratch', '/big', '/unsized']) expect(fs.existsSync(p)).toBe(false);
  }, SLOW);

  test.each([
    ['in parallel (-w 2)', ['-w', '2']],
    ['one after the other (-i)', ['-i']],
  ])('fixtures: two files change the same tree %s without seeing each other; the host tree stays byte-identical', async (_how, args) => {
    const dir = ownedBy(user, copyFixture('options-fixtures'));
    const tree = path.join(dir, 'tree');
    const before = treeHash(tree);
    const run = await runJest(user, dir, args);
    const expected: Record<string, string> = {};
    for (const name of ['one', 'two']) {
      expected[`${name}.test.js › /target is a discarded view of the host tree (overlayfs, or a copy), writable, not host-writable`] = 'passed';
      expected[`${name}.test.js › it starts pristine: no other file's changes`] = 'passed';
      expected[`${name}.test.js › its own writes, deletes and renames are all it sees, also a while later`] = 'passed';
    }
    expectAllPassed(run, expected);
    // The two files' runs overlapped in time with -w 2, and did not with -i.
    const [first, second] = run.results.testResults.map((file) => ({ start: file.startTime, end: file.endTime })).sort((a, b) => a.start - b.start);
    expect(second.start < first.end).toBe(args.includes('-w'));
    expect(treeHash(tree)).toBe(before);
    expect(fs.readFileSync(path.join(tree, 'a.txt'), 'utf8')).toBe('alpha\n');
  }, SLOW);

  test('fixtures: a tree of another owner, world-writable (a shared checkout), can be changed inside as on the host', async () => {
    // Left as copyFixture made it: owned by root, every file 0666 and directory 0777, so nobody may write it all on the host.
    const dir = copyFixture('options-fixtures');
    const tree = path.join(dir, 'tree');
    const before = treeHash(tree);
    const run = await runJest(user, dir, ['--runTestsByPath', '__tests__/one.test.js'], { FIXTURE_METHOD: user === 'nobody' ? 'copy' : 'overlay' });
    expectAllPassed(run, {
      'one.test.js › /target is a discarded view of the host tree (overlayfs, or a copy), writable, not host-writable': 'passed',
      "one.test.js › it starts pristine: no other file's changes": 'passed',
      'one.test.js › its own writes, deletes and renames are all it sees, also a while later': 'passed',
    });
    expect(treeHash(tree)).toBe(before);
  }, SLOW);

  test("project: 'overlay' (default) discards writes, deletes, git init and .git/config; 'readonly' is EROFS; 'writable' reaches the host", async () => {
    const dir = copyFixture('options-project');
    // The project's own node_modules, and a git repository with everything committed.
    const localDep = path.join(dir, 'node_modules', 'local-dep');
    fs.mkdirSync(localDep, { recursive: true });
    fs.writeFileSync(path.join(localDep, 'index.js'), "module.exports = 'local';\n");
    git(dir, ['init', '-q']);
    git(dir, ['add', '-A', '--force']);
    git(dir, ['commit', '-q', '-m', 'fixture']);
    ownedBy(user, dir);
    const gitConfig = sha256(path.join(dir, '.git', 'config'));
    const head = git(dir, ['rev-parse', 'HEAD']);
    expect(git(dir, ['status', '--porcelain', '--untracked-files=all', '--ignored'])).toBe('');

    const run = await runJest(user, dir, ['-i']);
    expectAllPassed(run, {
      'overlay.test.js › the project is an overlayfs': 'passed',
      'overlay.test.js › writes, changes and deletes source files, runs git init in a subfolder and writes .git/config': 'passed',
      'overlay.test.js › node_modules stay read-only in overlay mode: EROFS': 'passed',
      'readonly.test.js › project: readonly: writes to the project fail with EROFS': 'passed',
      'writable.test.js › project: writable: a write reaches the host; node_modules stay read-only': 'passed',
    });

    // The only change on the host is the writable file's.
    expect(git(dir, ['status', '--porcelain', '--untracked-files=all', '--ignored'])).toBe('?? written-through.txt\n');
    expect(fs.readFileSync(path.join(dir, 'written-through.txt'), 'utf8')).toBe('through to the host\n');
    expect(fs.statSync(path.join(dir, 'written-through.txt')).uid).toBe(uidOf(user));
    expect(sha256(path.join(dir, '.git', 'config'))).toBe(gitConfig);
    expect(git(dir, ['rev-parse', 'HEAD'])).toBe(head);
    expect(fs.existsSync(path.join(dir, 'packages', 'sub', '.git'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'src', 'remove-me.js'))).toBe(true);
    expect(fs.readdirSync(localDep)).toEqual(['index.js']);
  }, SLOW);

  describe('network', () => {
    let server: http.Server;
    let port: number;
    const token = crypto.randomBytes(8).toString('hex');
    const requests: string[] = [];

    beforeAll(async () => {
      server = http.createServer((req, res) => {
        requests.push(req.url ?? '');
        res.end(`token ${token}`);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });

    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    test("'none': loopback inside works, the host's 127.0.0.1 is refused at once; 'host' reaches it", async () => {
      const dir = ownedBy(user, copyFixture('options-network'));
      const run = await runJest(user, dir, ['-w', '2'], { HOST_SERVER_PORT: String(port), HOST_SERVER_TOKEN: token });
      expectAllPassed(run, {
        'none.test.js › network none: only loopback, and it is up': 'passed',
        'none.test.js › a server on 127.0.0.1 inside answers a request from inside': 'passed',
        "none.test.js › the host's 127.0.0.1 server is unreachable: ECONNREFUSED at once, not a hang": 'passed',
        "host.test.js › network host: the host's 127.0.0.1 server answers": 'passed',
      });
      // The host server saw the default network's request, and nothing from the isolated one.
      expect(requests).toEqual(['/from-host']);
    }, SLOW);
  });

  test('env (set, and unset with null), home, hostname, hide, and docblock options merged key by key', async () => {
    const dir = ownedBy(user, copyFixture('options-misc'));
    const before = treeHash(dir);
    const home = `/home/ms-options-${crypto.randomBytes(6).toString('hex')}`;
    const hostname = os.hostname();
    const run = await runJest(user, dir, ['-w', '2'], {
      OPTIONS_HOME: home,
      DROP_ME: 'given to Jest',
      KEEP_ME: 'kept from the host',
    });
    expectAllPassed(run, {
      'env.test.js › a variable is set, one given to Jest is unset, another given to Jest is kept': 'passed',
      'env.test.js › child processes see the same environment': 'passed',
      "env-override.test.js › the docblock's env map adds to the config's, and what the config unsets stays unset": 'passed',
      'env-override.test.js › the other project options still apply': 'passed',
      'home.test.js › HOME and os.homedir() are the configured path': 'passed',
      'home.test.js › it exists, is an empty directory of our own, and is writable': 'passed',
      'hostname.test.js › hostname: os.hostname(), the kernel and the hostname command all say options-box': 'passed',
      'hide.test.js › hidden files are empty and mode 000: reading them fails with EACCES': 'passed',
      'hide.test.js › a hidden directory is empty and mode 000: listing it and reading below it fail with EACCES': 'passed',
      'hide.test.js › nothing under the project gives the secret away, not even grep -r': 'passed',
      'hide.test.js › other files stay readable': 'passed',
    });
    // The host: no such home, its own hostname, and the hidden files as they were.
    expect(fs.existsSync(home)).toBe(false);
    expect(os.hostname()).toBe(hostname);
    expect(fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim()).toBe(hostname);
    expect(treeHash(dir)).toBe(before);
    expect(fs.readFileSync(path.join(dir, '.env'), 'utf8')).toBe('API_KEY=host-secret-value\n');
    expect(fs.readFileSync(path.join(dir, 'secrets/key.pem'), 'utf8')).toBe('PRIVATE KEY host-secret-value\n');
  }, SLOW);

  (SUITE_IS_ROOT ? describe : describe.skip)('propagation (the test suite mounts on the host while Jest runs)', () => {
    let run: JestRun;
    let dir: string;
    let hostMountSeen = false;
    /** What a test wrote under the read-only slave bind, as the host saw it before unmounting. */
    let reachedHost: string[] = [];

    beforeAll(async () => {
      dir = ownedBy(user, copyFixture('options-propagation'));
      const shared = path.join(dir, 'prop-host');
      const sub = path.join(shared, 'sub');
      const waiting = path.join(dir, 'signal', 'waiting');
      const token = crypto.randomBytes(8).toString('hex');
      // A shared mount on the host, so that there is something to propagate (this host's mounts are private).
      execFileSync('mount', ['--bind', shared, shared]);
      try {
        execFileSync('mount', ['--make-shared', shared]);
        const running = runJest(user, dir, [], { PROP_TOKEN: token });
        let mounted = false;
        try {
          // Mount only once the sandbox exists and waits: the mount comes later than the sandbox.
          for (let i = 0; i < 600 && !fs.existsSync(waiting); i++) await sleep(100);
          if (fs.existsSync(waiting)) {
            execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=1777', 'options-propagation', sub]);
            mounted = true;
            fs.writeFileSync(path.join(sub, 'ready.txt'), `${token}\n`, { mode: 0o644 });
            hostMountSeen = true;
          }
          run = await running;
          if (mounted) reachedHost = fs.readdirSync(sub).filter((name) => name !== 'ready.txt');
        } finally {
          if (mounted) execFileSync('umount', ['-l', sub]);
        }
      } finally {
        execFileSync('umount', ['-l', shared]);
      }
    }, SLOW);

    test("'slave': a tmpfs the host mounts under the source after launch shows up inside", () => {
      expect(hostMountSeen).toBe(true);
      expectPassed(run, "propagation.test.js › propagation 'slave': the host's later mount shows up");
    });

    test("'private' (the default): the same later mount does not show up", () => {
      expectPassed(run, "propagation.test.js › propagation 'private' (the default): the host's later mount does not show up");
    });

    test("a 'slave' bind is writable, as its options had to say: a write reaches the host's later mount", () => {
      const name = "propagation.test.js › a 'slave' bind had to be writable: writes reach the host's later mount";
      expect({ outcome: outcomes(run.results)[name], failure: failuresIn(run)[name], reachedHost })
        .toEqual({ outcome: 'passed', failure: undefined, reachedHost: ['written-in-sandbox'] });
    });

    test('the host is left without the mounts', () => {
      const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
      expect(mountinfo).not.toContain(dir);
      expect(fs.readdirSync(path.join(dir, 'prop-host', 'sub'))).toEqual(['.mount-point']);
    });
  });

  describe('bad options', () => {
    let run: JestRun;
    let dir: string;
    let markers: string[];
    const D = '@jest-environment-options sandbox';
    const SIZE = 'expected a positive size like "64m", "1g", "512k" or a number of bytes';
    const PRIVILEGED = 'which can expose or reconfigure the host \\(set allowPrivileged: true on this bind if you really mean it\\)';
    const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    /** Each case's file and what its failure must say: the option's path, the value, what was expected (`root`: the fixture copy). */
    const cases = (root: string): Record<string, RegExp> => ({
      '01-binds-not-array': new RegExp(`${D}\\.binds: expected an array, got "x" \\(string\\)`),
      '02-root-size-boolean': new RegExp(`${D}\\.rootSize: ${esc(SIZE)}, got true \\(boolean\\)`),
      '03-unknown-key-bind': new RegExp(`${D}\\.bind: unknown option; did you mean "binds"\\? Known options: binds, tmpfs, rootSize`),
      '04-unknown-key-netwrok': new RegExp(`${D}\\.netwrok: unknown option; did you mean "network"\\?`),
      '05-unknown-bind-key': new RegExp(`${D}\\.binds\\[0\\]\\.writeable: unknown option; did you mean "writable"\\?`),
      '06-relative-target': new RegExp(`${D}\\.binds\\[0\\]\\.target: expected an absolute path inside the sandbox, got relative "mnt/relative"`),
      '07-target-under-proc': new RegExp(`${D}\\.binds\\[0\\]\\.target: destination /proc/mine is under /proc, which the sandbox builds itself`),
      '08-tmpfs-under-dev': new RegExp(`${D}\\.tmpfs\\[0\\]\\.target: destination /dev/mine is under /dev, which the sandbox builds itself`),
      // The bind comes from the docblock: the message must say so (the project has a binds[0] of its own, which exists).
      '09-missing-source': new RegExp(`mount-sandbox: ${D}\\.binds\\[0\\]\\.source: bind source ${esc(root)}/no-such-dir does not exist \\(create it, fix the path, or set optional: true\\)`),
      '10-same-target-twice': new RegExp(`${D}\\.binds\\[1\\]\\.target: target /mnt/same is already used by ${D}\\.binds\\[0\\]\\.target; each path can be mounted once`),
      '11-bind-and-tmpfs-same-target': new RegExp(`${D}\\.tmpfs\\[0\\]\\.target: target /mnt/both is already used by ${D}\\.binds\\[0\\]\\.target`),
      '12-size-12x': new RegExp(`${D}\\.tmpfs\\[0\\]\\.size: ${esc(SIZE)}, got "12x" \\(string\\)`),
      '13-size-zero': new RegExp(`${D}\\.rootSize: ${esc(SIZE)}, got 0 \\(number\\)`),
      '14-invalid-json': /@jest-environment-options: invalid JSON in 14-invalid-json\.test\.js's docblock: .*JSON.*\(write a JSON object, e\.g\. \{"sandbox": \{"network": "none"\}\}\)/,
      '15-network-off': new RegExp(`${D}\\.network: expected one of "host", "none", got "off" \\(string\\)`),
      '16-uid-admin': new RegExp(`${D}\\.uid: expected one of "same", "root", got "admin" \\(string\\)`),
      '17-project-rw': new RegExp(`${D}\\.project: expected one of "overlay", "readonly", "writable", got "rw" \\(string\\)`),
      '18-env-not-string': new RegExp(`${D}\\.env\\.PORT: expected a string, or null to unset, got 8080 \\(number\\)`),
      '19-hostname-space': new RegExp(`${D}\\.hostname: expected letters, digits, dots and dashes \\(at most 63\\), got "my host" \\(string\\)`),
      '20-privileged-proc-sys': new RegExp(`${D}\\.binds\\[0\\]\\.source: the source /proc/sys is under /proc, ${PRIVILEGED}`),
      '21-privileged-root': new RegExp(`${D}\\.binds\\[0\\]\\.source: the source /root is under /root, ${PRIVILEGED}`),
      '22-privileged-run': new RegExp(`${D}\\.binds\\[0\\]\\.source: the source /run is under /run, ${PRIVILEGED}`),
      '23-privileged-docker-sock': new RegExp(`${D}\\.binds\\[0\\]\\.source: the source /var/run/docker\\.sock is a container runtime socket, which is root on the host \\(set allowPrivileged: true`),
      '24-privileged-target-boot': new RegExp(`${D}\\.binds\\[0\\]\\.target: the target /boot/mine is under /boot, ${PRIVILEGED}`),
      // Each side named by where it came from: the docblock's tmpfs, the config's bind.
      '25-overlap-with-project-bind': new RegExp(`mount-sandbox: ${D}\\.tmpfs\\[0\\]\\.target: target /mnt/project-bind is already used by testEnvironmentOptions\\.sandbox\\.binds\\[0\\]\\.target`),
      '26-bind-not-object': new RegExp(`${D}\\.binds\\[0\\]: expected "SRC\\[:DST\\]" or \\{source, target\\?, writable\\?\\}, got 42 \\(number\\)`),
      '27-propagation-shared': new RegExp(`${D}\\.binds\\[0\\]\\.propagation: expected one of "private", "slave", got "shared" \\(string\\)`),
      '28-root-dir-in-the-middle': new RegExp(`${D}\\.binds\\[0\\]\\.source: <rootDir> may only start the path, got "data/<rootDir>"`),
      '29-options-twice': /@jest-environment-options: given more than once in the docblock; give one JSON object/,
      '30-fixtures-missing-source': new RegExp(`mount-sandbox: ${D}\\.fixtures\\["/target"\\]: fixture source ${esc(root)}/no-such-tree does not exist`),
      '31-home-relative': new RegExp(`${D}\\.home: expected an absolute path inside the sandbox, got relative "home/me"`),
      '32-env-bad-name': new RegExp(`${D}\\.env: invalid variable name "A=B"`),
      '33-hide-under-proc': new RegExp(`${D}\\.hide\\[0\\]: destination /proc/self/environ is under /proc, which the sandbox builds itself`),
      '34-sandbox-not-object': new RegExp(`${D}: expected an object of sandbox options, got "network none" \\(string\\)`),
      '35-tmpfs-at-root': new RegExp(`${D}\\.tmpfs\\[0\\]\\.target: cannot be / \\(the root is always a fresh tmpfs; use rootSize to size it\\)`),
      '36-size-negative': new RegExp(`${D}\\.tmpfs\\[0\\]\\.size: ${esc(SIZE)}, got -5 \\(number\\)`),
      '37-writable-not-boolean': new RegExp(`${D}\\.binds\\[0\\]\\.writable: expected true or false, got "yes" \\(string\\)`),
      '38-target-dot-dot': new RegExp(`${D}\\.binds\\[0\\]\\.target: "/mnt/\\.\\./etc" contains "\\.\\."`),
      '39-slave-read-only': new RegExp(`${D}\\.binds\\[0\\]\\.propagation: a "slave" bind receives mounts the host makes later, with the host's flags: they cannot be kept read-only \\(set writable: true`),
    });
    /** Privileged trees reached through a symlink: /var/run is /run, and so is the project's link-to-run. */
    const symlinkCases = (): Record<string, RegExp> => ({
      '40-privileged-via-var-run-symlink': new RegExp(`${D}\\.binds\\[0\\]\\.source: .*/var/run.*/run.*allowPrivileged: true`),
      '41-privileged-via-project-symlink': new RegExp(`${D}\\.binds\\[0\\]\\.source: .*link-to-run.*/run.*allowPrivileged: true`),
    });
    const CASE_NAMES = Object.keys(cases(''));
    const markersOf = (name: string): string[] => markers.filter((m) => m.startsWith(`${name}.test.js.`));

    beforeAll(async () => {
      dir = ownedBy(user, copyFixture('options-invalid'));
      fs.symlinkSync('/run', path.join(dir, 'link-to-run'));
      run = await runJest(user, dir, ['-w', '2']);
      markers = fs.readdirSync(path.join(dir, 'markers')).filter((m) => m !== 'README').sort();
    }, SLOW);

    test('every file is reported; only the valid control passes, and only it leaves markers', () => {
      const expected: Record<string, string> = { '00-valid-control.test.js': 'passed' };
      for (const name of CASE_NAMES) expected[`${name}.test.js`] = 'failed';
      const statuses = fileStatuses(run.results);
      const symlinkFiles = Object.keys(symlinkCases()).map((name) => `${name}.test.js`);
      expect(Object.keys(statuses).sort()).toEqual([...Object.keys(expected), ...symlinkFiles].sort());
      // The symlink cases have tests of their own, below.
      expect(Object.fromEntries(Object.entries(statuses).filter(([file]) => !symlinkFiles.includes(file)))).toEqual(expected);
      expect(outcomes(run.results)['00-valid-control.test.js › runs, with its docblock options applied']).toBe('passed');
      expect(markersOf('00-valid-control')).toEqual(['00-valid-control.test.js.test', '00-valid-control.test.js.top-level']);
      expect(CASE_NAMES.length).toBeGreaterThanOrEqual(15);
    });

    test.each(CASE_NAMES)('%s: the file fails before launch with a message naming the option, and none of its code runs', (name) => {
      const failure = failureOf(run, `${name}.test.js`);
      expect(failure).toMatchObject({ status: 'failed', tests: 0 });
      expect(failure.message).toMatch(cases(dir)[name]);
      expect(failure.message).toMatch(/mount-sandbox: /);
      expect(failure.message).not.toMatch(/sandbox setup failed|exited with code|before reporting a result/);
      // A config error is the user's to fix: no stack frames from the runner's internals.
      expect(failure.message).not.toMatch(/^\s+at /m);
      expect(markersOf(name)).toEqual([]);
    });

    test.each(['40-privileged-via-var-run-symlink', '41-privileged-via-project-symlink'])(
      '%s: a privileged tree reached through a symlink is refused like the tree itself',
      (name) => {
        const failure = failureOf(run, `${name}.test.js`);
        expect(markersOf(name)).toEqual([]);
        expect(failure).toMatchObject({ status: 'failed', tests: 0 });
        expect(failure.message).toMatch(symlinkCases()[name]);
      },
    );

    test('a bad project-wide option fails every file, naming testEnvironmentOptions.sandbox and the index', async () => {
      const bad = {
        binds: [
          { source: 'data', target: '/mnt/a' },
          { source: 'data', target: '/mnt/b', writable: true },
          { source: '/root', target: '/mnt/c' },
        ],
      };
      const projectWide = await runJest(user, dir, ['--runTestsByPath', 'cases/00-valid-control.test.js', 'cases/15-network-off.test.js'], {
        EXTRA_SANDBOX_OPTIONS: JSON.stringify(bad),
      });
      expect(fileStatuses(projectWide.results)).toEqual({ '00-valid-control.test.js': 'failed', '15-network-off.test.js': 'failed' });
      for (const name of ['00-valid-control', '15-network-off']) {
        const failure = failureOf(projectWide, `${name}.test.js`);
        expect(failure.tests).toBe(0);
        expect(failure.message).toMatch(new RegExp(`mount-sandbox: testEnvironmentOptions\\.sandbox\\.binds\\[2\\]\\.source: the source /root is under /root, ${PRIVILEGED}`));
      }
      // The control's markers are still only those of the first run.
      expect(fs.readdirSync(path.join(dir, 'markers')).filter((m) => m !== 'README').sort()).toEqual(markers);
    }, SLOW);

    test('every bad option is reported in one message, not just the first', async () => {
      const bad = { network: 'off', processLimit: 3, tmpfs: ['relative', '/ok:12x'], netwrok: 'none' };
      const projectWide = await runJest(user, dir, ['--runTestsByPath', 'cases/00-valid-control.test.js'], { EXTRA_SANDBOX_OPTIONS: JSON.stringify(bad) });
      const failure = failureOf(projectWide, '00-valid-control.test.js');
      expect(failure).toMatchObject({ status: 'failed', tests: 0 });
      const P = 'testEnvironmentOptions\\.sandbox';
      expect(failure.message).toMatch(/mount-sandbox: 5 problems with the sandbox options:/);
      for (const line of [
        `${P}\\.netwrok: unknown option; did you mean "network"\\?`,
        `${P}\\.tmpfs\\[0\\]\\.target: expected an absolute path inside the sandbox, got relative "relative"`,
        `${P}\\.tmpfs\\[1\\]\\.size: expected a positive size`,
        `${P}\\.network: expected one of "host", "none", got "off"`,
        `${P}\\.processLimit: expected a whole number of at least 16, got 3`,
      ]) expect(failure.message).toMatch(new RegExp(`\\n\\s+- ${line}`));
      expect(failure.message).not.toMatch(/^\s+at /m);
    }, SLOW);
  });

  test('options outside testEnvironmentOptions.sandbox, and a misspelt "sandbox", are warned about once per project, and not applied', async () => {
    const dir = ownedBy(user, copyFixture('options-misplaced'));
    const run = await runJest(user, dir, ['-w', '2']);
    expectAllPassed(run, {
      "one.test.js › the network is the host's, package.json is readable, the hostname is set": 'passed',
      "two.test.js › the network is the host's, package.json is readable, the hostname is set": 'passed',
    });
    const warning = new RegExp([
      `mount-sandbox: warning for the Jest project ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:`,
      '  - testEnvironmentOptions\\.network is a sandbox option outside "sandbox", so it is ignored; move it to testEnvironmentOptions\\.sandbox\\.network',
      '  - testEnvironmentOptions\\.hide is a sandbox option outside "sandbox", so it is ignored; move it to testEnvironmentOptions\\.sandbox\\.hide',
      '  - testEnvironmentOptions\\.sandbx is ignored; did you mean "sandbox"\\?',
    ].join('\n'));
    expect(run.stderr).toMatch(warning);
    // Once for the project, not once per file; Jest's own options (customExportConditions) are not named.
    expect(run.stderr.split('warning for the Jest project').length - 1).toBe(1);
    expect(run.stderr).not.toMatch(/customExportConditions/);
  }, SLOW);

  test("envMode 'clean': a secret given to Jest stays out, the allowlist and env pass; a docblock cannot switch back to 'inherit'", async () => {
    const dir = ownedBy(user, copyFixture('options-env-clean'));
    const run = await runJest(user, dir, ['-w', '2'], { SECRET_TOKEN: 'host-secret-token', LANG: 'C.UTF-8' });
    expect(outcomes(run.results)).toEqual({
      'clean.test.js › a secret given to Jest does not reach the test, nor its child processes': 'passed',
      'clean.test.js › the allowlist (PATH, HOME, LANG) and what env sets do': 'passed',
      'inherit.test.js': 'failed',
    });
    expect(failureOf(run, 'inherit.test.js').message).toMatch(/@jest-environment-options sandbox\.envMode: a docblock may only narrow the sandbox: "inherit" would pass Jest's whole environment, secrets included/);
  }, SLOW);

});
