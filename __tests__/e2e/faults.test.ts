// Fault injection: a sandboxed process killed from outside mid-test, a file
// stuck in a synchronous loop, a sandbox whose setup fails half-way, and a
// child that dies while it loads Jest. Each fails only its own file, says
// why and in which state, and leaves nothing behind.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, fileResult, runJest } from '../helpers/jest-run';
import { mountPoints, sandboxProcessesIn } from '../helpers/host-state';
import { USERS, type User } from '../helpers/run';
import { sleep } from '../helpers/wait';

/** Host pids of sandboxed Jest children whose environment carries `marker`. */
function childrenWithMarker(marker: string): number[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.some((arg) => arg.endsWith('inside/child.js'))
        && fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`FAULT_MARKER=${marker}`);
    } catch {
      return false;
    }
  });
}

/** The host pid of the test process that holds /tmp/fault-victim-<marker> open (a path inside its sandbox). */
function victim(marker: string): number | undefined {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).find((pid) => {
    try {
      return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === `/tmp/fault-victim-${marker}`);
    } catch {
      return false;
    }
  });
}

describe.each(USERS)('faults as %s', (user: User) => {
  test('each fault fails its own file with the reason; the healthy file passes; nothing is left', async () => {
    const dir = copyFixture('faults');
    const marker = crypto.randomBytes(6).toString('hex');
    const mountsBefore = mountPoints();
    const running = runJest(user, dir, ['-w', '2'], { FAULT_MARKER: marker });
    let killed = 0;
    for (let i = 0; i < 300 && killed === 0; i++) {
      await sleep(100);
      const pid = victim(marker);
      if (pid !== undefined) {
        process.kill(pid, 'SIGKILL');
        killed = pid;
      }
    }
    const run = await running;
    expect(killed).toBeGreaterThan(0);

    expect(fileResult(run.results, 'healthy.test.js').status).toBe('passed');
    const killedFile = fileResult(run.results, 'killed-from-outside.test.js');
    expect(killedFile.status).toBe('failed');
    expect(killedFile.message).toMatch(/the sandboxed test process was killed by SIGKILL \(exit status 137\) \(out of memory, or killed from outside\)/);
    expect(killedFile.message).toContain(`killed-from-outside is waiting, marker ${marker}`);
    // The state it died in: it had its file.
    expect(killedFile.message).toContain('(out of memory, or killed from outside) while it ran its file, before reporting a result');
    const loop = fileResult(run.results, 'sync-loop.test.js');
    expect(loop.status).toBe('failed');
    expect(loop.message).toMatch(/did not finish within 3000 ms \(testEnvironmentOptions\.sandbox\.fileTimeout\)/);
    const setup = fileResult(run.results, 'setup-fails.test.js');
    expect(setup.status).toBe('failed');
    expect(setup.message).toMatch(/sandbox setup failed: tmpfs \/usr\/no-such-dir-for-a-tmpfs .*cannot create the mount point \/usr\/no-such-dir-for-a-tmpfs: EROFS/);
    // The message says it all: no frames of the runner's own code under it.
    expect(setup.message).not.toMatch(/sandboxed-file\.js|\n\s+at /);
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);

    expect(mountPoints().filter((m) => !mountsBefore.includes(m) && m.startsWith(dir))).toEqual([]);
    for (let i = 0; i < 30 && sandboxProcessesIn(dir).length > 0; i++) await sleep(100);
    expect(sandboxProcessesIn(dir)).toEqual([]);
    expect(childrenWithMarker(marker)).toEqual([]);
  }, 120_000);

  test('a child that dies while it loads Jest fails its file naming that state, and the file never ran', async () => {
    const dir = copyFixture('crash-preparing');
    const run = await runJest(user, dir);
    const file = fileResult(run.results, 'never-runs.test.js');
    expect(file.status).toBe('failed');
    expect(file.message).toContain('mount-sandbox: the sandboxed test process exited with code 7 while it was loading Jest, before reporting a result');
    expect(file.message).toContain('crash-preparing: the test runner module exits as it loads');
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  }, 120_000);
});
