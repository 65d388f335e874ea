// Ubuntu 22.04 (util-linux 2.37) and Debian 11 (2.36) were refused by a
// version check, although their unshare and setpriv have every flag the
// launch chain passes. This runs the whole chain with Debian 11's binaries.
import { execFileSync } from 'node:child_process';
import { debianUtilLinux } from '../helpers/debian-util-linux';
import { copyFixture, runJest } from '../helpers/jest-run';
import { run, sandboxRun, USERS } from '../helpers/run';
import { currentStage } from '../helpers/stage';

describe('util-linux 2.36 (Debian 11)', () => {
  let bin: string;
  let PATH: string;

  beforeAll(() => {
    bin = debianUtilLinux();
    PATH = `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
    expect(execFileSync(`${bin}/unshare`, ['--version'], { encoding: 'utf8' })).toMatch(/util-linux 2\.36/);
  }, 240_000);

  test.each(USERS)('as %s: doctor finds every flag it needs and says the host can sandbox', async (user) => {
    const result = await run(user, [process.execPath, currentStage().cli, 'doctor'], { env: { PATH } });
    expect(result.stdout).toContain(`ok    util-linux 2.36.1 (${bin}/unshare, ${bin}/setpriv) has every flag the sandbox uses`);
    expect(result.stdout).toMatch(/can sandbox tests on this host/);
    expect(result.code).toBe(0);
  });

  test.each(USERS)('as %s: mount-sandbox run builds the sandbox with them', async (user) => {
    const result = await sandboxRun(user, ['--', 'sh', '-c', 'cat /proc/self/uid_map; echo x > /tmp/probe && cat /tmp/probe'], { env: { PATH } });
    expect(result.stderr).toBe('');
    const uid = user === 'root' ? 0 : 65534;
    expect(result.stdout.trim().split(/\s+/)).toEqual([String(uid), String(uid), '1', 'x']);
    expect(result.code).toBe(0);
  });

  test.each(USERS)('as %s: a real Jest file proves it is sandboxed', async (user) => {
    const dir = copyFixture('basic');
    const { results, code, stderr } = await runJest(user, dir, ['--runTestsByPath', '__tests__/probe.test.js'], { PATH });
    expect(results.numFailedTests).toBe(0);
    expect(results.numPassedTests).toBe(4);
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/unrecognized option/);
  });
});
