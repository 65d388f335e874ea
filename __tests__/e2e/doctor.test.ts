// `mount-sandbox doctor` reports what the host allows, and exits non-zero
// with the fix when no sandbox mode works.
import fs from 'node:fs';
import { currentStage } from '../helpers/stage';
import { run, asUser, USERS } from '../helpers/run';

describe('mount-sandbox doctor', () => {
  const stage = currentStage();

  test.each(USERS)('on this host, as %s: every check passes and names the mode', async (user) => {
    const result = await run(user, [process.execPath, stage.cli, 'doctor']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok {4}user namespaces work for this user$/m);
    expect(result.stdout).toMatch(/the runner will use mode "userns"/);
    expect(result.stdout).toMatch(/a full sandbox .* builds in [\d.]+ ms/);
    expect(result.stdout).toMatch(/overlayfs works in the sandbox/);
    expect(result.stdout).toMatch(user === 'root' ? /process limit 1024 per sandbox, by a pids cgroup/ : /process limit 1024 per sandbox, by RLIMIT_NPROC/);
    expect(result.stdout).toMatch(/can sandbox tests on this host/);
  });

  const refuse = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"';

  (process.getuid?.() === 0 ? test : test.skip)('without user namespaces, an unprivileged user gets FAIL, the sysctl to fix, and exit 1', async () => {
    const argv = asUser('nobody', ['unshare', '--user', '--map-current-user', '--keep-caps', '--', 'sh', '-c', refuse, 'sh', process.execPath, stage.cli, 'doctor']);
    const result = await run('root', argv);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL {2}user namespaces are refused: .*No space left on device$/m);
    expect(result.stdout).toMatch(/fix: user namespaces are disabled: sysctl -w user.max_user_namespaces=15000/);
    expect(result.stdout).toMatch(/cannot sandbox tests on this host/);
  });

  (process.getuid?.() === 0 ? test : test.skip)('without user namespaces, root is told it falls back to mode root-no-userns', async () => {
    const result = await run('root', ['unshare', '--user', '--map-root-user', '--mount', '--', 'sh', '-c', refuse, 'sh', process.execPath, stage.cli, 'doctor']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^warn {2}user namespaces are refused/m);
    expect(result.stdout).toMatch(/the runner will use mode "root-no-userns"/);
  });

  test.each(USERS)('as %s on a host without AppArmor, doctor --fix refuses, says why, and changes nothing', async (user) => {
    const result = await run(user, [process.execPath, stage.cli, 'doctor', '--fix']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('mount-sandbox doctor --fix: AppArmor is not active on this host (no /sys/kernel/security/apparmor): --fix only installs an AppArmor profile, and there is no AppArmor restriction to lift here\n');
    expect(result.stdout).toBe('');
    expect(fs.existsSync('/etc/apparmor.d/mount-sandbox-unshare')).toBe(false);
  });
});
