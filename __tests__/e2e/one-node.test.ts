// The one-Node chain end to end, through `mount-sandbox run -- node`: one
// Node process in the sandbox, locked down before the command's first line;
// pid 1 still reaps orphans and passes the exit status; a setup failure and
// a kernel that refuses the seccomp filter both fail with the structured
// error, never with a weaker sandbox; MOUNT_SANDBOX_ONE_NODE=0 brings back
// the init chain.
import fs from 'node:fs';
import path from 'node:path';
import { run, sandboxRun, USERS, type User } from '../helpers/run';
import { currentStage } from '../helpers/stage';

const PROBE = `
const fs = require('fs');
const field = (text, name) => (text.split('\\n').find((l) => l.startsWith(name + ':')) || '').slice(name.length + 1).trim();
const status = fs.readFileSync('/proc/self/status', 'utf8');
const nodes = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).filter((p) => {
  try { return fs.readFileSync('/proc/' + p + '/comm', 'utf8').trim() === 'node'; } catch { return false; }
});
console.log(JSON.stringify({
  chain: JSON.parse(process.env.MOUNT_SANDBOX).chain,
  nodes: nodes.length,
  CapEff: field(status, 'CapEff'), NoNewPrivs: field(status, 'NoNewPrivs'), Seccomp: field(status, 'Seccomp'),
  initVar: process.env.MOUNT_SANDBOX_INIT === undefined ? 'absent' : 'present',
  execArgv: process.execArgv,
  cwd: process.cwd(),
}));
`;

/**
 * A launcher under a seccomp filter of its own that makes seccomp(2) fail
 * with EINVAL, as a kernel without CONFIG_SECCOMP_FILTER does; everything
 * else is allowed, so that the namespaces and the mounts still work.
 */
const REFUSING = `
const [koffiPath, cli, ...command] = process.argv.slice(2);
const koffi = require(koffiPath);
const libc = koffi.load('libc.so.6');
const prctl = libc.func('int prctl(int option, unsigned long a, unsigned long b, unsigned long c, unsigned long d)');
koffi.struct('fprog', { len: 'unsigned short', filter: 'void *' });
const prctlFilter = libc.func('int prctl(int option, unsigned long mode, const fprog *prog, unsigned long c, unsigned long d)');
const nr = { x64: 317, arm64: 277 }[process.arch];
const insns = [[0x20, 0, 0, 0], [0x15, 0, 1, nr], [0x06, 0, 0, 0x00050000 | 22], [0x06, 0, 0, 0x7fff0000]];
const prog = Buffer.alloc(insns.length * 8);
insns.forEach(([code, jt, jf, k], i) => { prog.writeUInt16LE(code, i * 8); prog.writeUInt8(jt, i * 8 + 2); prog.writeUInt8(jf, i * 8 + 3); prog.writeUInt32LE(k >>> 0, i * 8 + 4); });
if (prctl(38, 1, 0, 0, 0) !== 0) throw new Error('PR_SET_NO_NEW_PRIVS failed');
if (prctlFilter(22, 2, { len: insns.length, filter: prog }, 0, 0) !== 0) throw new Error('PR_SET_SECCOMP failed: ' + koffi.errno());
const r = require('child_process').spawnSync(process.execPath, [cli, 'run', '--', ...command], { encoding: 'utf8' });
process.stdout.write(JSON.stringify({ status: r.status, stdout: r.stdout, stderr: r.stderr }));
`;

/** In the staged project, which every sandbox binds (read-only). */
function writeScript(name: string, text: string): string {
  const file = path.join(currentStage().project, name);
  if (!fs.existsSync(file)) fs.writeFileSync(file, text, { mode: 0o644 });
  return file;
}

describe.each(USERS)('the one-Node chain, as %s', (user: User) => {
  test('mount-sandbox run -- node: one Node process, locked down before the command runs, with nothing of the setup left', async () => {
    const result = await sandboxRun(user, ['--', 'node', writeScript('one-node-probe.js', PROBE)]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      chain: 'one-node', nodes: 1, CapEff: '0000000000000000', NoNewPrivs: '1', Seccomp: '2', initVar: 'absent', execArgv: [], cwd: currentStage().project,
    });
  });

  test('MOUNT_SANDBOX_ONE_NODE=0: the init chain, whose command is exec\'d with the mounts locked, under the small filter against set-id files only', async () => {
    const result = await sandboxRun(user, ['--', 'node', writeScript('one-node-probe.js', PROBE)], { env: { MOUNT_SANDBOX_ONE_NODE: '0' } });
    expect(JSON.parse(result.stdout)).toMatchObject({ chain: 'init', nodes: 1, CapEff: '0000000000000000', NoNewPrivs: '1', Seccomp: '2', initVar: 'absent' });
    // That filter leaves the namespaces alone: the chain's own nested unshare ran, and a command may make more.
    const script = 'unshare --user --mount echo in-a-new-user-namespace; touch /tmp/f; chmod 4755 /tmp/f 2>&1 || echo refused; stat -c %a /tmp/f';
    const nested = await sandboxRun(user, ['--', 'sh', '-c', script], { env: { MOUNT_SANDBOX_ONE_NODE: '0' } });
    expect({ code: nested.code, out: nested.stdout.trim().split('\n') })
      .toEqual({ code: 0, out: ['in-a-new-user-namespace', expect.stringMatching(/Operation not permitted/), 'refused', '644'] });
  });

  test('the exit status passes through: a code, a signal as 128+N, and a child forked with the preload gone from execArgv', async () => {
    expect((await sandboxRun(user, ['--', 'node', '-e', 'process.exit(7)'])).code).toBe(7);
    expect((await sandboxRun(user, ['--', 'node', '-e', 'process.kill(process.pid, "SIGTERM")'])).code).toBe(143);
    const child = writeScript('one-node-forked.js', 'process.exit(process.execArgv.length === 0 ? 9 : 1);\n');
    const parent = writeScript('one-node-fork.js', `require('child_process').fork(${JSON.stringify(child)}).on('exit', (code) => process.exit(code));\n`);
    expect((await sandboxRun(user, ['--', 'node', parent])).code).toBe(9);
  });

  test('pid 1 reaps orphans: a hundred double-forked children leave no zombie', async () => {
    const script = `
      const { execSync } = require('child_process');
      for (let i = 0; i < 100; i++) execSync('sh -c "true & exit 0"');
      execSync('sleep 0.5');
      const fs = require('fs');
      const zombies = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).filter((p) => {
        try { return / Z /.test(fs.readFileSync('/proc/' + p + '/stat', 'utf8')); } catch { return false; }
      });
      console.log(zombies.length);
    `;
    const result = await sandboxRun(user, ['--', 'node', '-e', script]);
    expect(result.stdout.trim()).toBe('0');
  });

  // The personality rule refuses ADDR_NO_RANDOMIZE, which gdb asks for before it starts a program: the README says gdb warns and goes on.
  (fs.existsSync('/usr/bin/gdb') ? test : test.skip)('gdb still debugs a program in either chain: it warns that it cannot switch ASLR off, and runs it', async () => {
    const script = `
      const r = require('child_process').spawnSync('/usr/bin/gdb', ['-q', '-batch', '-ex', 'run', '--args', '/bin/echo', 'debugged'], { encoding: 'utf8' });
      console.log(JSON.stringify({ status: r.status, stdout: r.stdout, stderr: r.stderr }));
    `;
    for (const oneNode of ['1', '0']) {
      const result = await sandboxRun(user, ['--', 'node', '-e', script], { env: { MOUNT_SANDBOX_ONE_NODE: oneNode } });
      const gdb = JSON.parse(result.stdout) as { status: number; stdout: string; stderr: string };
      expect({ oneNode, status: gdb.status, ran: /^debugged$/m.test(gdb.stdout) && gdb.stdout.includes('exited normally'), warned: gdb.stderr })
        .toEqual({ oneNode, status: 0, ran: true, warned: expect.stringContaining('Error disabling address space randomization: Operation not permitted') });
    }
  });

  test('a setup failure in the one-Node chain is the same structured error as the init\'s, and the command never runs', async () => {
    const marker = path.join(currentStage().root, `one-node-ran-${user}`);
    // A tmpfs whose mount point would have to be made under read-only /usr: only the interpreter inside finds out.
    const result = await sandboxRun(user, ['--tmpfs', '/usr/no-such-dir-one-node', '--', 'node', '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`]);
    expect(result.code).toBe(125);
    expect(result.stderr).toMatch(/sandbox setup failed: tmpfs \/usr\/no-such-dir-one-node .*EROFS/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  test('a kernel that refuses the seccomp filter fails the command with the syscall, the errno and the fix; it never runs unfiltered', async () => {
    const marker = path.join(currentStage().root, `one-node-unfiltered-${user}`);
    const koffi = [path.join(currentStage().packageDir, 'node_modules', 'koffi'), path.join(currentStage().project, 'node_modules', 'koffi')].find((p) => fs.existsSync(p)) as string;
    const result = await run(user, [process.execPath, writeScript('one-node-refusing.js', REFUSING), koffi, currentStage().cli, 'node', '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran')`]);
    const out = JSON.parse(result.stdout) as { status: number; stderr: string };
    expect(out.status).toBe(125);
    expect(out.stderr).toMatch(/sandbox setup failed: the kernel refused the sandbox's seccomp filter: seccomp\("SECCOMP_SET_MODE_FILTER", "SECCOMP_FILTER_FLAG_TSYNC", .*\) failed: EINVAL/);
    expect(out.stderr).toMatch(/CONFIG_SECCOMP_FILTER.*MOUNT_SANDBOX_ONE_NODE=0/s);
    expect(fs.existsSync(marker)).toBe(false);
  });
});
