// The adversarial suite, second half: processes, privileges, descriptors,
// terminals, daemons, resource exhaustion, the runner's channel, and the
// writable paths Jest itself needs. Each file of fixtures/hostile-process
// tries one attack, and its tests pass when the attack fails. This file runs
// them with real Jest, as root and as nobody, and checks the host afterwards:
// nothing survives, nothing is mounted, nothing is written where it may not be.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FormattedTestResults } from '@jest/test-result';
import { copyFixture, fileResult, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { mountPoints, sandboxProcessesIn, TOOLS_TMP_ENTRY } from '../helpers/host-state';
import { currentStage } from '../helpers/stage';
import { HOST_CASES, NO_USERNS_FALLBACK, NO_USERNS_HOST, run, USERS, type HostMode, type User } from '../helpers/run';
import { until } from '../helpers/wait';

const RUN_TIMEOUT = 180_000;
const FIXTURE = 'hostile-process';

/** Files whose every test must pass: the attack failed. */
const MUST_PASS = [
  '01-proc-view.test.js',
  '03-ptrace.test.js',
  '04-setuid.test.js',
  '05-capabilities.test.js',
  '06-fds.test.js',
  '07-tiocsti.test.js',
  '08-daemons.test.js',
  '09-process-storm.test.js',
  '10-fill-root.test.js',
  '10-fill-small-tmpfs.test.js',
  '11-memory-child.test.js',
  '13-cache-haste-map.test.js',
  '13-cache-poison.test.js',
  '13-snapshot-symlinks.test.js',
  '15-capability-xattr.test.js',
  '16-kernel-surface.test.js',
  '17-platform-threads.test.js',
  '18-platform-thread-ioctl.test.js',
  '99-healthy.test.js',
];
/** Files that end their own test process: each must be a clear failure of that file alone. */
const MUST_DIE = ['02-kill-all.test.js', '11-oom-killed.test.js'];
const HEALTHY = {
  '99-healthy.test.js › a fresh sandbox, untouched by the other files': 'passed',
  '99-healthy.test.js › a second test, so that forged results for this file would show': 'passed',
};

/** Host pids whose command line is exactly `cmdline` (arguments joined by spaces). */
function processesRunning(cmdline: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() === cmdline) found.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Host processes of any kind whose working directory is `dir`: a sandboxed process keeps its cwd's path. */
function processesIn(dir: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/cwd`) === dir) found.push(`${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 200)}`);
    } catch {
      // gone meanwhile, or not ours to look at
    }
  }
  return found;
}

function tmpEntries(): string[] {
  return fs.readdirSync('/tmp').filter((name) => !TOOLS_TMP_ENTRY.test(name)).sort();
}

/** The `HOSTILE-REPORT <name> <json>` lines the hostile files write to stderr, by name. */
function reports(stderr: string): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const match of stderr.matchAll(/^HOSTILE-REPORT (\S+) (.*)$/gm)) {
    try {
      found[match[1]] = JSON.parse(match[2]);
    } catch {
      found[match[1]] = match[2];
    }
  }
  return found;
}

function verdict(results: FormattedTestResults, file: string): { file: string; status: string; failures: string[] } {
  const result = fileResult(results, file);
  const failures = result.assertionResults.filter((a) => a.status !== 'passed').map((a) => `${a.fullName}: ${(a.failureMessages ?? []).join('\n').slice(0, 1500)}`);
  if (result.status !== 'passed' && failures.length === 0) failures.push(result.message.slice(0, 1500));
  return { file, status: result.status, failures };
}

/** Host files outside every writable path; the attacks aim at them. Mode 0666, so that even nobody's Jest could be tricked into writing them. */
function makeCanary(name: string): string {
  const p = path.join(currentStage().root, `canary-${name}-${crypto.randomBytes(4).toString('hex')}`);
  fs.writeFileSync(p, 'original\n');
  fs.chmodSync(p, 0o666);
  return p;
}

function linksIn(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.lstatSync(p).isSymbolicLink()) out[name] = fs.readlinkSync(p);
  }
  return out;
}

describe.each(HOST_CASES)('hostile processes as %s', (_name: string, user: User, hostMode: HostMode) => {
  // On a host without user namespaces the file runs in the init chain as real root, with no kernel lock on its mounts.
  const prefix = hostMode === 'root-no-userns' ? NO_USERNS_HOST : [];
  let dir: string;
  let bulk: JestRun;
  let found: Record<string, unknown>;
  let mountsBefore: string[];
  let tmpBefore: string[];
  const markers = [1, 2, 3].map(() => String(900000 + crypto.randomInt(99999)));
  const stormSeconds = `30.${crypto.randomInt(100000, 999999)}`;
  const canaries = { snapshot: '', haste: '', poison: '' };
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = copyFixture(FIXTURE);
    canaries.snapshot = makeCanary(`${user}-snapshot`);
    canaries.haste = makeCanary(`${user}-haste`);
    canaries.poison = makeCanary(`${user}-poison`);
    env = {
      HOSTILE_HOST_PID: String(process.pid),
      // As root, the seccomp filter refuses xattr writes of a file capability's sizes (15-capability-xattr).
      HOSTILE_HOST_UID: user === 'root' ? '0' : '65534',
      HOSTILE_DAEMON_MARKERS: markers.join(','),
      HOSTILE_STORM_SECONDS: stormSeconds,
      HOSTILE_CANARY_SNAPSHOT: canaries.snapshot,
      HOSTILE_CANARY_HASTE: canaries.haste,
      HOSTILE_CANARY_POISON: canaries.poison,
    };
    mountsBefore = mountPoints();
    tmpBefore = tmpEntries();
    bulk = await runJest(user, dir, ['-w', '2'], env, 120_000, prefix);
    found = reports(bulk.stderr);
  }, RUN_TIMEOUT);

  test('the run completes on its own and reports every file', () => {
    if (hostMode === 'root-no-userns') expect(bulk.stderr).toMatch(NO_USERNS_FALLBACK);
    expect(bulk.signal).toBeNull();
    expect(bulk.code).toBe(1);
    const files = bulk.results.testResults.map((file) => path.basename(file.name)).sort();
    expect(files).toEqual([...MUST_PASS, ...MUST_DIE].sort());
    expect(outcomes(bulk.results)).toEqual(expect.objectContaining(HEALTHY));
  });

  test.each(MUST_PASS)('%s: the attack fails, every test passes', (file) => {
    expect(verdict(bulk.results, file)).toEqual({ file, status: 'passed', failures: [] });
  });

  test('16 on the host, as the same user, the calls the sandbox refused work: the EPERM inside is the filter\'s', async () => {
    expect(found['kernel-surface']).toEqual(expect.objectContaining({ perf_event_open: 'EPERM', userfaultfd: 'EPERM' }));
    // python3 on PATH may be a pyenv shim under /root, which nobody cannot run.
    const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const host = await run(user, [python, path.join(dir, 'kernel-surface.py')]);
    expect(host.stderr).toBe('');
    expect(JSON.parse(host.stdout)).toEqual({
      // A kernel with perf_event_paranoid 3 (Debian's and Ubuntu's) refuses an unprivileged user with EACCES, not the filter's EPERM.
      perf_event_open: user === 'nobody' ? expect.stringMatching(/^(ok|EACCES)$/) : 'ok',
      userfaultfd: 'ok',
      'personality query': 'ok',
      'personality ADDR_NO_RANDOMIZE': 'ok',
      'personality READ_IMPLIES_EXEC': 'ok',
    });
  });

  test('02 kill -9 -1 inside kills only the sandbox: that file dies by SIGKILL, Jest and this process live on', () => {
    const result = fileResult(bulk.results, '02-kill-all.test.js');
    expect(result.status).toBe('failed');
    expect(result.message).toContain('mount-sandbox: the sandboxed test process was killed by SIGKILL');
    expect(result.message).toContain('the killer itself is spared');
    // Jest itself lived on: it exited by itself with every other file reported (the first test), and so did this process.
  });

  test('11 a test process killed as by the OOM killer is a failed file naming SIGKILL and memory, with its last output', () => {
    const result = fileResult(bulk.results, '11-oom-killed.test.js');
    expect(result.status).toBe('failed');
    expect(result.message).toContain('SIGKILL');
    expect(result.message).toContain('out of memory');
    expect(result.message).toContain('hostile-oom: allocated a lot, about to be killed');
  });

  test('08 daemons started inside (setsid, double fork, ignoring SIGHUP/SIGTERM) are gone on the host', async () => {
    expect(found.daemons).toEqual({ setsid: true, doubleFork: true, stubborn: true });
    expect(await until(() => markers.every((m) => processesRunning(`sleep ${m}`).length === 0), 3000)).toBe(true);
  });

  test('09 the process storm ends with its file: nothing survives; the count and the limit are reported', async () => {
    const storm = found['process-storm'] as { started: number; limitHit: boolean; error: string | null; processLimit: unknown } | undefined;
    console.log(`process storm as ${user}: ${JSON.stringify(storm)}`);
    expect(storm?.started).toBeGreaterThan(0);
    expect(await until(() => processesRunning(`sleep ${stormSeconds}`).length === 0, 3000)).toBe(true);
  });

  test('03 ptrace and /proc/<pid>/mem reach nothing outside the sandbox', () => {
    const ptrace = found.ptrace as Record<string, string>;
    console.log(`ptrace as ${user}: ${JSON.stringify(ptrace)}`);
    expect(ptrace[String(process.pid)]).toBe('ESRCH');
  });

  test('13 links and `..` paths planted in __snapshots__ and the cache wrote nothing outside them on the host', () => {
    const snapshotDir = path.join(dir, '__tests__', '__snapshots__');
    const sandboxes = path.join(dir, '.jest-cache', 'mount-sandbox');
    const cacheDirs = [path.join(dir, '.jest-cache'), sandboxes, ...fs.readdirSync(sandboxes).map((name) => path.join(sandboxes, name))];
    console.log(`as ${user}, the attempts inside: ${JSON.stringify(found['snapshot-symlinks'])}\n` +
      `and what the host sees afterwards: links in __snapshots__ ${JSON.stringify(linksIn(snapshotDir))}, links in the caches ${JSON.stringify(cacheDirs.map(linksIn))}`);
    expect(fs.readFileSync(canaries.snapshot, 'utf8')).toBe('original\n');
    // The README's promise: symlinks a sandboxed test leaves in a snapshot folder are removed after the file.
    expect(linksIn(snapshotDir)).toEqual({});
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))).toEqual({ name: 'fixture-hostile-process', private: true });
    const escaped = [dir, path.dirname(dir), path.dirname(path.dirname(dir)), path.dirname(path.dirname(path.dirname(dir))), path.join(dir, '__tests__'), ...cacheDirs]
      .flatMap((d) => fs.readdirSync(d).filter((name) => name.startsWith('escaped-')).map((name) => path.join(d, name)));
    expect(escaped).toEqual([]);
  });

  test('no host leak after the run: mounts, sandbox processes, /tmp', async () => {
    // New mounts only, and none inside another fixture's copy: suites running meanwhile mount and unmount there on purpose.
    const others = /\/project\/runs\/(?!hostile-process-)[^/]+\//;
    expect(mountPoints().filter((m) => !mountsBefore.includes(m) && !others.test(`${m}/`))).toEqual([]);
    expect(await until(() => sandboxProcessesIn(dir).length === 0 && processesIn(dir).length === 0, 3000)).toBe(true);
    expect(tmpEntries().filter((e) => !tmpBefore.includes(e))).toEqual([]);
  });

  // Jest's own process reads and writes its cacheDirectory on the host, and
  // every sandbox may write the sandboxes' cache: the next run is where a
  // planted link or a poisoned cache entry would act. Run the cross-file
  // attack once the bulk run has filled the cache, then Jest once more.
  describe('the next run', () => {
    let plant: JestRun;
    let next: JestRun;

    beforeAll(async () => {
      plant = await runJest(user, dir, ['--runTestsByPath', '__tests__/13-cache-cross-file.test.js'], { ...env, HOSTILE_SET: 'cross-file' }, 120_000, prefix);
      next = await runJest(user, dir, ['--runTestsByPath', '__tests__/99-healthy.test.js'], env, 120_000, prefix);
    }, RUN_TIMEOUT);

    test('13-cache-cross-file.test.js planted what it could, and the next run reports exactly its own result', () => {
      const planted = reports(plant.stderr);
      console.log(`as ${user}, what the cache attacks reached: haste maps ${JSON.stringify(found['cache-haste-map'])}, global setup ${JSON.stringify(found['cache-poison'])}, ` +
        `other files' transforms ${JSON.stringify(planted['cache-cross-file-transform'])}, V8 code cache ${JSON.stringify(planted['cache-cross-file-v8'])}`);
      expect(verdict(plant.results, '13-cache-cross-file.test.js')).toEqual({ file: '13-cache-cross-file.test.js', status: 'passed', failures: [] });
      expect(outcomes(next.results)).toEqual(HEALTHY);
    });

    test('13 Jest on the host does not write its haste map through a link a sandbox planted', () => {
      expect(fs.readFileSync(canaries.haste, 'latin1').slice(0, 80)).toBe('original\n');
    });

    test('13 Jest on the host does not run a global setup a sandbox rewrote in the cache', () => {
      expect(fs.readFileSync(canaries.poison, 'utf8')).toBe('original\n');
    });

    test('13 code another file planted in the sandboxes\' shared cache runs only inside sandboxes, never in Jest on the host', () => {
      // Shared by design and documented (README, security model); the boundary is the host.
      const lines = next.stderr.match(/^HOSTILE-PAYLOAD .*$/gm) ?? [];
      expect(lines.filter((line) => !line.includes(' inside a sandbox '))).toEqual([]);
    });
  });
});

// Attacks on the runner's channel run apart, one per run, each beside a
// healthy file: if one takes the runner down, the others still say what they do.
describe.each(USERS)('hostile processes as %s: the runner\'s channel', (user: User) => {
  test.each([
    ['12-ipc-flood.test.js', 'passed'],
    ['12-ipc-forged.test.js', 'reported'],
    ['12-ipc-disconnect.test.js', 'failed'],
    ['12-ipc-close-fd.test.js', 'failed'],
  ])('%s: the runner survives, the file is %s, the healthy file beside it reports exactly its own result', async (file, expected) => {
    const ipcDir = copyFixture(FIXTURE);
    let ipc: JestRun | undefined;
    let crash: string | undefined;
    try {
      ipc = await runJest(user, ipcDir, ['-w', '2', '--runTestsByPath', `__tests__/${file}`, '__tests__/99-healthy.test.js'], { HOSTILE_SET: 'ipc' });
    } catch (error) {
      crash = (error as Error).message.slice(0, 3000);
    }
    expect(await until(() => sandboxProcessesIn(ipcDir).length === 0 && processesIn(ipcDir).length === 0, 3000)).toBe(true);
    expect(crash).toBeUndefined();
    if (!ipc) return;
    expect(ipc.signal).toBeNull();
    expect(Object.fromEntries(Object.entries(outcomes(ipc.results)).filter(([name]) => name.startsWith('99-')))).toEqual(HEALTHY);
    const result = fileResult(ipc.results, file);
    if (expected === 'passed') expect(verdict(ipc.results, file)).toEqual({ file, status: 'passed', failures: [] });
    if (expected === 'failed') expect(result.status).toBe('failed');
    if (result.status === 'failed') expect(result.message).toMatch(/mount-sandbox:|forged|Cannot|Error/);
  }, RUN_TIMEOUT);
});

describe.each(USERS)('hostile processes as %s: a file that never ends', (user: User) => {
  // Jest's testTimeout is a timer, and a synchronous loop never lets it fire;
  // nothing in the runner bounds a file's time either. Report what happens
  // within 30 s; whatever happens, the kill must leave nothing behind.
  test('14 a synchronous infinite loop: what happens within 30 s, and nothing survives the end', async () => {
    const loopDir = copyFixture(FIXTURE);
    const jestBin = path.join(currentStage().project, 'node_modules', 'jest', 'bin', 'jest.js');
    const started = Date.now();
    const result = await run(user, [process.execPath, jestBin, '--ci=false'], { cwd: loopDir, env: { HOSTILE_SET: 'sync-loop' }, timeoutMs: 30_000 });
    const ms = Date.now() - started;
    const endedByItself = result.signal === null;
    console.log(`sync loop as ${user}: ${endedByItself ? `Jest ended by itself after ${ms} ms with code ${result.code}` : `Jest was still running after ${ms} ms and was killed (${result.signal})`}; ` +
      `looping started: ${result.stderr.includes('hostile-sync-loop: looping')}`);
    expect(result.stderr).toContain('hostile-sync-loop: looping');
    if (endedByItself) expect(result.stderr).toMatch(/14-sync-loop\.test\.js/);
    expect(await until(() => sandboxProcessesIn(loopDir).length === 0 && processesIn(loopDir).length === 0, 3000)).toBe(true);
  }, RUN_TIMEOUT);
});
