// If Jest itself is interrupted or killed mid-run, no sandboxed process
// survives it: the launch chain dies with its parent.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture } from '../helpers/jest-run';
import { sandboxProcessesIn } from '../helpers/host-state';
import { currentStage } from '../helpers/stage';
import { run, USERS, type User } from '../helpers/run';
import { until } from '../helpers/wait';

function processesRunning(marker: string): number {
  let count = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() === `sleep ${marker}`) count++;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}

describe.each(USERS)('interrupting Jest as %s', (user: User) => {
  test.each(['SIGKILL', 'SIGINT', 'SIGTERM'] as const)('%s to the Jest process ends every sandbox', async (signal) => {
    const dir = copyFixture('hang');
    const marker = String(800000 + crypto.randomInt(99999));
    const jestBin = path.join(currentStage().project, 'node_modules', 'jest', 'bin', 'jest.js');
    let jestPid = 0;
    const finished = run(user, [process.execPath, jestBin, '-w', '2'], {
      cwd: dir,
      env: { HANG_MARKER: marker },
      onSpawn: (child) => {
        jestPid = child.pid ?? 0;
      },
    });
    expect(await until(() => processesRunning(marker) === 2, 20_000)).toBe(true);
    process.kill(jestPid, signal);
    await finished;
    expect(await until(() => processesRunning(marker) === 0 && sandboxProcessesIn(dir).length === 0, 5000)).toBe(true);
  }, 60_000);

  test('watch mode: an interrupted run (here by --bail) kills its sandboxes while Jest keeps watching', async () => {
    const dir = copyFixture('watch-bail');
    const jestBin = path.join(currentStage().project, 'node_modules', 'jest', 'bin', 'jest.js');
    let jest: import('node:child_process').ChildProcess | undefined;
    let output = '';
    const finished = run(user, [process.execPath, jestBin, '--watchAll', '--watchman=false', '--bail', '-w', '3'], {
      cwd: dir,
      timeoutMs: 60_000,
      onSpawn: (child) => {
        jest = child;
        child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      },
    });
    expect(await until(() => output.includes('Test run was interrupted'), 30_000)).toBe(true);
    expect(await until(() => sandboxProcessesIn(dir).length === 0, 5000)).toBe(true);
    expect(jest?.exitCode).toBeNull();
    jest?.kill('SIGTERM');
    await finished;
  }, 90_000);
});
