// Acceptance of the sandbox engine (`mount-sandbox run`), against real
// namespaces, as root and as an unprivileged user.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sandboxProcessesIn } from '../helpers/host-state';
import { currentStage } from '../helpers/stage';
import { run, sandboxRun, TEST_HOME, USERS, asUser, type User } from '../helpers/run';
import { until } from '../helpers/wait';

function unique(): string {
  return `ms-test-${crypto.randomBytes(6).toString('hex')}`;
}

function hostProcessesMatching(marker: string): string[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      return cmdline.startsWith(marker) ? [`${pid} ${cmdline}`] : [];
    } catch {
      return [];
    }
  });
}

describe.each(USERS)('mount-sandbox run as %s', (user: User) => {
  const stage = currentStage();

  test('writes to /tmp, /, $HOME and /var stay inside', async () => {
    const name = unique();
    const script = [
      `echo hi > /tmp/${name} && cat /tmp/${name}`,
      `echo root > /${name} && cat /${name}`,
      `echo home > "$HOME/${name}" && cat "$HOME/${name}"`,
      `echo var > /var/${name} && cat /var/${name}`,
      `echo vartmp > /var/tmp/${name} && cat /var/tmp/${name}`,
    ].join(' && ');
    const result = await sandboxRun(user, ['--', 'sh', '-c', script]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('hi\nroot\nhome\nvar\nvartmp\n');
    expect(result.code).toBe(0);
    for (const dir of ['/tmp', '/', TEST_HOME, '/var', '/var/tmp', '/root']) {
      expect(fs.existsSync(path.join(dir, name))).toBe(false);
    }
    expect(fs.existsSync(TEST_HOME)).toBe(false);
  });

  test('the toolchain, /etc, node and the project are read-only, and stay so', async () => {
    const targets = ['/usr', '/etc', path.dirname(path.dirname(fs.realpathSync(process.execPath))), stage.project, path.join(stage.project, 'node_modules')];
    const script = targets.map((dir) => [
      `touch ${dir}/probe 2>&1 | grep -q 'Read-only file system' && echo "${dir} erofs"`,
      `mount -o remount,rw ${dir} 2>/dev/null || echo "${dir} remount refused"`,
      `mount -o remount,bind,rw ${dir} 2>/dev/null || echo "${dir} bind remount refused"`,
      `umount ${dir} 2>/dev/null || umount -l ${dir} 2>/dev/null || echo "${dir} umount refused"`,
      `touch ${dir}/probe 2>&1 | grep -q 'Read-only file system' && echo "${dir} still erofs"`,
    ].join('; ')).join('; ');
    const result = await sandboxRun(user, ['--', 'sh', '-c', script]);
    const expected = targets.flatMap((dir) => [`${dir} erofs`, `${dir} remount refused`, `${dir} bind remount refused`, `${dir} umount refused`, `${dir} still erofs`]);
    expect(result.stdout.trim().split('\n')).toEqual(expected);
    for (const dir of targets) expect(fs.existsSync(path.join(dir, 'probe'))).toBe(false);
  });

  test('a nested user and mount namespace cannot unlock the read-only mounts', async () => {
    const inner = 'for d in /usr /etc /proc/sys; do mount -o remount,rw $d 2>/dev/null && echo "BROKEN remount $d"; mount -o remount,bind,rw $d 2>/dev/null && echo "BROKEN bind remount $d"; umount -l $d 2>/dev/null && echo "BROKEN umount $d"; done; touch /usr/x 2>/dev/null && echo "BROKEN write"';
    const result = await sandboxRun(user, ['--', 'sh', '-c', `unshare -rm sh -c '${inner}' 2>/dev/null; unshare -Urm --propagation private sh -c '${inner}' 2>/dev/null; touch /usr/x 2>&1 | grep -c Read-only`]);
    expect(result.stdout).toBe('1\n');
  });

  test('/proc shows only the sandbox, host-only paths are absent, no descriptor reaches the host', async () => {
    const script = [
      'ls /proc | grep -c "^[0-9]"',
      'cat /proc/1/comm',
      'for p in /home /work /root/.bashrc /etc/../../oldroot /oldroot /newroot; do [ -e "$p" ] && echo "visible $p"; done',
      'for fd in /proc/$$/fd/*; do readlink "$fd"; done',
    ].join('; ');
    const result = await sandboxRun(user, ['--', 'sh', '-c', script]);
    const lines = result.stdout.trim().split('\n');
    expect(Number(lines[0])).toBeLessThanOrEqual(4);
    expect(lines[1]).toBe('sh');
    expect(lines.filter((l) => l.startsWith('visible'))).toEqual([]);
    const targets = lines.slice(2);
    expect(targets.length).toBeGreaterThanOrEqual(3);
    for (const target of targets) expect(target).toMatch(/^(pipe:|socket:|\/dev\/null|\/proc\/)/);
  });

  test('a process left running is gone when run returns', async () => {
    const marker = String(900000 + crypto.randomInt(99999));
    const result = await sandboxRun(user, ['--', 'sh', '-c', `sleep ${marker} > /dev/null 2>&1 & setsid sleep ${marker} > /dev/null 2>&1 & echo started`]);
    expect(result.stdout).toBe('started\n');
    expect(await until(() => hostProcessesMatching(`sleep ${marker}`).length === 0, 2000, 50)).toBe(true);
  });

  test('SIGKILL of the launcher ends everything inside', async () => {
    const marker = String(900000 + crypto.randomInt(99999));
    let launcherPid = 0;
    const finished = sandboxRun(user, ['--', 'sh', '-c', `sleep ${marker} & sleep ${marker}`], {
      onSpawn: (child) => {
        launcherPid = child.pid ?? 0;
      },
    });
    expect(await until(() => hostProcessesMatching(`sleep ${marker}`).length === 2, 5000, 50)).toBe(true);
    // The launcher is node itself for root, and node under setpriv (same pid after exec) for nobody.
    process.kill(launcherPid, 'SIGKILL');
    await finished;
    expect(await until(() => hostProcessesMatching(`sleep ${marker}`).length === 0, 3000, 50)).toBe(true);
    expect(await until(() => sandboxProcessesIn(stage.project).length === 0, 3000, 50)).toBe(true);
  });

  test('async fs in Node reaches the sandbox, and every thread shares one mount namespace', async () => {
    const script = `
      const fs = require('fs');
      (async () => {
        await fs.promises.writeFile('/tmp/a', 'from the threadpool');
        const back = fs.readFileSync('/tmp/a', 'utf8');
        const spaces = new Set(fs.readdirSync('/proc/self/task').map((t) => fs.readlinkSync('/proc/self/task/' + t + '/ns/mnt')));
        const viaPool = await fs.promises.readdir('/');
        console.log(JSON.stringify({ back, spaces: [...spaces], threads: fs.readdirSync('/proc/self/task').length, root: viaPool }));
      })();`;
    const result = await sandboxRun(user, ['--', process.execPath, '-e', script]);
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout) as { back: string; spaces: string[]; threads: number; root: string[] };
    expect(out.back).toBe('from the threadpool');
    expect(out.threads).toBeGreaterThan(1);
    expect(out.spaces).toHaveLength(1);
    expect(out.spaces[0]).not.toBe(fs.readlinkSync('/proc/self/ns/mnt'));
    expect(out.root).not.toContain('work');
    expect(fs.existsSync('/tmp/a') && fs.readFileSync('/tmp/a', 'utf8') === 'from the threadpool').toBe(false);
  });

  test('each sandbox starts its pids at a random point, so pid-named temporary files of concurrent sandboxes do not collide', async () => {
    const [a, b] = await Promise.all([1, 2].map(() => sandboxRun(user, ['--', 'sh', '-c', 'echo $$'])));
    expect(Number(a.stdout)).toBeGreaterThan(1000);
    expect(a.stdout).not.toBe(b.stdout);
  });

  test('exit codes pass through, and death by signal N gives 128+N', async () => {
    expect((await sandboxRun(user, ['--', 'sh', '-c', 'exit 3'])).code).toBe(3);
    expect((await sandboxRun(user, ['--', 'sh', '-c', 'kill -9 $$'])).code).toBe(137);
    expect((await sandboxRun(user, ['--', 'sh', '-c', 'kill -TERM $$'])).code).toBe(143);
    expect((await sandboxRun(user, ['--', 'no-such-command-here'])).code).toBe(127);
  });

  test('the command has no capabilities and no_new_privs, and runs as the caller', async () => {
    const result = await sandboxRun(user, ['--', 'sh', '-c', 'grep -E "^(CapEff|CapPrm|NoNewPrivs)" /proc/self/status; id -u']);
    expect(result.stdout).toContain('CapEff:\t0000000000000000');
    expect(result.stdout).toContain('CapPrm:\t0000000000000000');
    expect(result.stdout).toContain('NoNewPrivs:\t1');
    expect(result.stdout.trim().split('\n').pop()).toBe(user === 'root' ? '0' : '65534');
  });

  test('--uid root appears as root inside without privileges on the host', async () => {
    const result = await sandboxRun(user, ['--uid', 'root', '--', 'sh', '-c', 'id -u; touch /usr/x 2>&1 | grep -c Read-only; cat /etc/shadow > /dev/null 2>&1 && echo read-shadow']);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('0');
    expect(lines[1]).toBe('1');
    if (user === 'nobody') expect(lines).not.toContain('read-shadow');
  });

  test('--bind, --ro-bind, --tmpfs, --setenv and --cwd', async () => {
    const host = fs.mkdtempSync(path.join(stage.root, 'bind-'));
    fs.chmodSync(host, 0o777);
    fs.writeFileSync(path.join(host, 'in.txt'), 'host data\n', { mode: 0o644 });
    const script = 'cat /data/in.txt; echo out > /out/out.txt; touch /data/nope 2>&1 | grep -c Read-only; df -k /scratch | tail -1 | awk "{print \\$2}"; echo "$GREETING"; pwd';
    const result = await sandboxRun(user, ['--ro-bind', `${host}:/data`, `--bind=${host}:/out`, '--tmpfs', '/scratch:2m', '--setenv', 'GREETING=hello there', '--cwd', '/scratch', '--', 'sh', '-c', script]);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')).toEqual(['host data', '1', '2048', 'hello there', '/scratch', '']);
    expect(fs.readFileSync(path.join(host, 'out.txt'), 'utf8')).toBe('out\n');
  });

  test('a read-only bind stays read-only however its destination is spelled', async () => {
    const host = fs.mkdtempSync(path.join(stage.root, 'slash-'));
    fs.chmodSync(host, 0o777);
    const result = await sandboxRun(user, ['--ro-bind', `${host}:/data/`, '--ro-bind', `${host}/:/other//`, '--', 'sh', '-c', 'touch /data/f /other/g 2>&1 | grep -c Read-only']);
    expect(result.stdout).toBe('2\n');
    expect(fs.readdirSync(host)).toEqual([]);
  });

  test("a read-only bind of a folder that is no mount point makes the host's mounts below it read-only too", async () => {
    // As /etc in a Docker container: a plain folder, with a tmpfs and a file bind (its hosts) mounted below it.
    const host = fs.mkdtempSync(path.join(stage.root, 'submounts-'));
    const backing = path.join(stage.root, `${path.basename(host)}-hosts`);
    fs.writeFileSync(backing, '127.0.0.1 original\n', { mode: 0o666 });
    fs.chmodSync(backing, 0o666);
    fs.mkdirSync(path.join(host, 'inner'));
    fs.writeFileSync(path.join(host, 'hosts'), '');
    fs.chmodSync(host, 0o777);
    const mounted: string[] = [];
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=1777', 'ms-submount', path.join(host, 'inner')]);
      mounted.push(path.join(host, 'inner'));
      execFileSync('mount', ['--bind', backing, path.join(host, 'hosts')]);
      mounted.push(path.join(host, 'hosts'));
      const script = 'touch /data/inner/x 2>&1 | grep -c Read-only; (echo 6.6.6.6 evil >> /data/hosts) 2>&1 | grep -c Read-only; cat /data/hosts';
      const result = await sandboxRun(user, ['--ro-bind', `${host}:/data`, '--', 'sh', '-c', script]);
      expect(result.stdout).toBe('1\n1\n127.0.0.1 original\n');
      expect(fs.readdirSync(path.join(host, 'inner'))).toEqual([]);
      expect(fs.readFileSync(backing, 'utf8')).toBe('127.0.0.1 original\n');
    } finally {
      for (const point of mounted.reverse()) execFileSync('umount', [point]);
    }
  });

  describe('TMPDIR: a fresh, empty directory at its path where it can be, else unset, and mktemp works either way', () => {
    const script = 'echo "TMPDIR=${TMPDIR-unset}"; [ -n "$TMPDIR" ] && ls -A "$TMPDIR" | wc -l; f=$(mktemp) && echo "$f" && echo x > "$f" && echo wrote';
    let project: string;
    let inProject: string;
    beforeAll(() => {
      // A project of its own, with a TMPDIR inside it that holds a host file.
      project = fs.mkdtempSync(path.join(stage.root, 'tmpdir-project-'));
      inProject = path.join(project, '.tmp');
      fs.mkdirSync(inProject);
      fs.writeFileSync(path.join(inProject, 'host-file'), 'host\n');
      fs.chmodSync(project, 0o755);
    });

    test('below /tmp, where the host has it and the fresh /tmp does not: created inside', async () => {
      const tmpdir = `/tmp/${unique()}/tmp`;
      const result = await sandboxRun(user, ['--', 'sh', '-c', script], { env: { TMPDIR: tmpdir } });
      expect(result.stdout.split('\n').slice(0, 2)).toEqual([`TMPDIR=${tmpdir}`, '0']);
      expect(result.stdout.split('\n')[2]).toMatch(new RegExp(`^${tmpdir}/tmp\\.`));
      expect(result.stdout).toContain('wrote\n');
      expect(fs.existsSync(path.dirname(tmpdir))).toBe(false);
    });

    test('inside the (read-only) project: an empty tmpfs over it; the host folder keeps its file and gets no other', async () => {
      const result = await sandboxRun(user, ['--', 'sh', '-c', script], { cwd: project, env: { TMPDIR: inProject } });
      expect(result.stdout.split('\n').slice(0, 2)).toEqual([`TMPDIR=${inProject}`, '0']);
      expect(result.stdout.split('\n')[2]).toMatch(new RegExp(`^${inProject}/tmp\\.`));
      expect(result.stdout).toContain('wrote\n');
      expect(fs.readdirSync(inProject)).toEqual(['host-file']);
    });

    test.each([['inside the read-only /usr', '/usr/lib'], ['relative', 'tmp'], ['under /proc', '/proc/self']])('%s (%s): unset, so temporary files go to /tmp', async (_name, tmpdir) => {
      const result = await sandboxRun(user, ['--', 'sh', '-c', script], { env: { TMPDIR: tmpdir } });
      expect(result.stdout.split('\n')[0]).toBe('TMPDIR=unset');
      expect(result.stdout.split('\n')[1]).toMatch(/^\/tmp\/tmp\./);
      expect(result.stdout).toContain('wrote\n');
      expect(result.code).toBe(0);
    });
  });

  test('a $HOME under /tmp (common in CI) exists inside: fresh, empty and writable', async () => {
    const home = `/tmp/${unique()}/home`;
    const result = await sandboxRun(user, ['--', 'sh', '-c', 'echo "$HOME"; ls -A "$HOME" | wc -l; echo x > "$HOME/.probe" && cat "$HOME/.probe"'], { env: { HOME: home } });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${home}\n0\nx\n`);
    expect(fs.existsSync(path.dirname(home))).toBe(false);
  });

  test('--unshare-net leaves only loopback, and it is up', async () => {
    const script = `
      const net = require('net');
      const server = net.createServer((s) => s.end('pong')).listen(0, '127.0.0.1', () => {
        net.connect(server.address().port, '127.0.0.1').on('data', (d) => { console.log(String(d)); server.close(); });
      });`;
    const ifaces = await sandboxRun(user, ['--unshare-net', '--', 'sh', '-c', 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "']);
    expect(ifaces.stdout.trim().split('\n')).toEqual(['lo']);
    const pong = await sandboxRun(user, ['--unshare-net', '--', process.execPath, '-e', script]);
    expect(pong.stdout).toContain('pong');
  });

  test('--hostname gives the sandbox its own', async () => {
    const result = await sandboxRun(user, ['--hostname', 'sandboxed', '--', 'cat', '/proc/sys/kernel/hostname']);
    expect(result.stdout).toBe('sandboxed\n');
  });

  describe('bad input: exit 2, one line naming the option, nothing runs', () => {
    const cases: Array<[string, string[], RegExp]> = [
      ['a missing bind source', ['--ro-bind', '/no/such/source:/x'], /^mount-sandbox: --ro-bind \/no\/such\/source:\/x: bind source \/no\/such\/source does not exist/],
      ['a relative target', ['--bind', '/tmp:relative/dir'], /^mount-sandbox: --bind \/tmp:relative\/dir: the destination must be absolute/],
      ['an empty target', ['--tmpfs', ''], /^mount-sandbox: --tmpfs: expects a value/],
      ['a target under /proc', ['--ro-bind', '/usr:/proc/evil'], /^mount-sandbox: --ro-bind \/usr:\/proc\/evil: destination \/proc\/evil is under \/proc/],
      ['an unknown option', ['--frobnicate'], /^mount-sandbox: --frobnicate: unknown option/],
      ['a malformed size', ['--tmpfs', '/data:12x'], /^mount-sandbox: --tmpfs \/data:12x: expected a positive size like 64m, 1g, 512k or a number of bytes, got "12x"/],
    ];
    test.each(cases)('%s', async (_what, options, message) => {
      const marker = path.join(stage.root, unique());
      fs.mkdirSync(marker, { mode: 0o777 });
      fs.chmodSync(marker, 0o777);
      const result = await sandboxRun(user, [...options, '--bind', `${marker}:/marker`, '--', 'touch', '/marker/ran']);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(fs.readdirSync(marker)).toEqual([]);
    });
  });
});

describe('hosts that refuse user namespaces', () => {
  const stage = currentStage();
  // user.max_user_namespaces is per user namespace: setting it to 0 in a
  // throwaway namespace simulates such a host without touching this one.
  const refuse = 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"';

  (process.getuid?.() === 0 ? test : test.skip)('an unprivileged user gets the reason and the fix, and nothing runs', async () => {
    const argv = asUser('nobody', ['unshare', '--user', '--map-current-user', '--keep-caps', '--', 'sh', '-c', refuse, 'sh',
      process.execPath, stage.cli, 'run', '--', 'sh', '-c', 'echo ran']);
    const result = await run('root', argv);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(/cannot create a user namespace/);
    expect(result.stderr).toMatch(/user\.max_user_namespaces/);
  });

  (process.getuid?.() === 0 ? test : test.skip)('root falls back to no user namespace, says so, and read-only still holds', async () => {
    const argv = ['unshare', '--user', '--map-root-user', '--mount', '--', 'sh', '-c', refuse, 'sh',
      process.execPath, stage.cli, 'run', '--', 'sh', '-c', 'grep CapEff /proc/self/status; mount -o remount,rw /usr 2>/dev/null || echo refused; touch /usr/x 2>&1 | grep -c Read-only'];
    const result = await run('root', argv);
    expect(result.stderr).toMatch(/running as real root without one/);
    expect(result.stdout.split('\n')).toEqual(['CapEff:\t0000000000000000', 'refused', '1', '']);
    expect(result.code).toBe(0);
  });
});

test('Ctrl-C (SIGINT) to the launcher ends the sandbox with 130', async () => {
  const stage = currentStage();
  const marker = String(900000 + crypto.randomInt(99999));
  const child = spawn(process.execPath, [stage.cli, 'run', '--', 'sleep', marker], { cwd: stage.project, stdio: 'ignore' });
  expect(await until(() => hostProcessesMatching(`sleep ${marker}`).length === 1, 5000, 50)).toBe(true);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code).toBe(130);
  expect(await until(() => hostProcessesMatching(`sleep ${marker}`).length === 0, 3000, 50)).toBe(true);
});
