import { isSandboxError, type SandboxError } from '../../src/shared/errors';
import { parseCli, parseRunArgs, type RunArgs } from '../../src/cli/args';

const CWD = '/home/u/proj';

function run(...argv: string[]): RunArgs {
  return parseRunArgs(argv, CWD);
}

/** Runs `fn`, which must throw a config SandboxError, and returns it. */
function configErrorOf(fn: () => unknown): SandboxError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeDefined();
  expect(isSandboxError(thrown)).toBe(true);
  const error = thrown as SandboxError;
  expect(error.kind).toBe('config');
  return error;
}

describe('parseRunArgs: defaults', () => {
  test('only a command gives every default', () => {
    expect(run('--', 'true')).toEqual({
      mounts: [], setenv: {}, unsetenv: [], unshareNet: false, uid: 'same', hide: [], verbose: false, command: ['true'],
    });
  });
});

describe('parseRunArgs: options', () => {
  test.each<[string, string[], Partial<RunArgs>]>([
    ['--ro-bind SRC', ['--ro-bind', '/data'], { mounts: [{ type: 'ro-bind', source: '/data', dest: '/data', role: 'user', origin: '--ro-bind /data' }] }],
    ['--ro-bind SRC:DST', ['--ro-bind', '/data:/mnt/data'], { mounts: [{ type: 'ro-bind', source: '/data', dest: '/mnt/data', role: 'user', origin: '--ro-bind /data:/mnt/data' }] }],
    ['--bind relative SRC', ['--bind', 'out'], { mounts: [{ type: 'bind', source: '/home/u/proj/out', dest: '/home/u/proj/out', role: 'user', origin: '--bind out' }] }],
    ['--bind ../SRC:DST', ['--bind', '../cache:/cache'], { mounts: [{ type: 'bind', source: '/home/u/cache', dest: '/cache', role: 'user', origin: '--bind ../cache:/cache' }] }],
    ['--bind DST with a colon', ['--bind', '/a:/b:c'], { mounts: [{ type: 'bind', source: '/a', dest: '/b:c', role: 'user', origin: '--bind /a:/b:c' }] }],
    ['--tmpfs DST', ['--tmpfs', '/scratch'], { mounts: [{ type: 'tmpfs', dest: '/scratch', role: 'user', origin: '--tmpfs /scratch' }] }],
    ['--tmpfs DST:SIZE', ['--tmpfs', '/scratch:64m'], { mounts: [{ type: 'tmpfs', dest: '/scratch', size: 64 * 1024 ** 2, role: 'user', origin: '--tmpfs /scratch:64m' }] }],
    ['--setenv K=V', ['--setenv', 'A=1'], { setenv: { A: '1' } }],
    ['--setenv K= (empty value)', ['--setenv', 'EMPTY='], { setenv: { EMPTY: '' } }],
    ['--setenv K=V=W keeps later =', ['--setenv', 'OPTS=a=b'], { setenv: { OPTS: 'a=b' } }],
    ['--unsetenv', ['--unsetenv', 'SECRET'], { unsetenv: ['SECRET'] }],
    ['--unshare-net', ['--unshare-net'], { unshareNet: true }],
    ['--uid root', ['--uid', 'root'], { uid: 'root' }],
    ['--uid same', ['--uid', 'same'], { uid: 'same' }],
    ['--cwd absolute', ['--cwd', '/srv'], { cwd: '/srv' }],
    ['--cwd relative', ['--cwd', 'sub/dir'], { cwd: '/home/u/proj/sub/dir' }],
    ['--project relative', ['--project', '..'], { project: '/home/u' }],
    ['--project absolute', ['--project', '/work/x'], { project: '/work/x' }],
    ['--root-size', ['--root-size', '2g'], { rootSize: 2 * 1024 ** 3 }],
    ['--hostname', ['--hostname', 'box'], { hostname: 'box' }],
    ['--verbose', ['--verbose'], { verbose: true }],
    ['-v', ['-v'], { verbose: true }],
  ])('%s', (_name, options, expected) => {
    const args = run(...options, '--', 'cmd');
    expect(args).toMatchObject(expected);
    expect(args.command).toEqual(['cmd']);
  });

  test.each<[string, string, Partial<RunArgs>]>([
    ['--ro-bind=/data:/d', '--ro-bind=/data:/d', { mounts: [{ type: 'ro-bind', source: '/data', dest: '/d', role: 'user', origin: '--ro-bind /data:/d' }] }],
    ['--bind=out', '--bind=out', { mounts: [{ type: 'bind', source: '/home/u/proj/out', dest: '/home/u/proj/out', role: 'user', origin: '--bind out' }] }],
    ['--tmpfs=/t:1g', '--tmpfs=/t:1g', { mounts: [{ type: 'tmpfs', dest: '/t', size: 1024 ** 3, role: 'user', origin: '--tmpfs /t:1g' }] }],
    ['--setenv=A=B=C splits at the first = only', '--setenv=A=B=C', { setenv: { A: 'B=C' } }],
    ['--unsetenv=X', '--unsetenv=X', { unsetenv: ['X'] }],
    ['--uid=root', '--uid=root', { uid: 'root' }],
    ['--cwd=sub', '--cwd=sub', { cwd: '/home/u/proj/sub' }],
    ['--project=/p', '--project=/p', { project: '/p' }],
    ['--root-size=512m', '--root-size=512m', { rootSize: 512 * 1024 ** 2 }],
    ['--hostname=h', '--hostname=h', { hostname: 'h' }],
  ])('%s (the --opt=value form)', (_name, option, expected) => {
    expect(run(option, '--', 'cmd')).toMatchObject(expected);
  });

  test('repeated options accumulate, in order', () => {
    const args = run('--ro-bind', '/a', '--tmpfs', '/b', '--bind', '/c:/d', '--setenv', 'X=1', '--setenv', 'X=2', '--unsetenv', 'P', '--unsetenv', 'Q', '--', 'cmd');
    expect(args.mounts.map((m) => `${m.type} ${m.dest}`)).toEqual(['ro-bind /a', 'tmpfs /b', 'bind /d']);
    expect(args.setenv).toEqual({ X: '2' });
    expect(args.unsetenv).toEqual(['P', 'Q']);
  });

  test('a value that looks like an option is taken as the value', () => {
    expect(run('--cwd', '-v', '--', 'cmd')).toMatchObject({ cwd: `${CWD}/-v`, verbose: false });
  });
});

describe('parseRunArgs: the command', () => {
  test.each<[string, string[], string[]]>([
    ['after --', ['--', 'sh', '-c', 'echo hi'], ['sh', '-c', 'echo hi']],
    ['without --', ['echo', 'hi'], ['echo', 'hi']],
    ['without -- after options', ['-v', '--tmpfs', '/t', 'ls', '-la'], ['ls', '-la']],
    ['options after the command belong to the command', ['node', '--verbose', '--tmpfs', 'x'], ['node', '--verbose', '--tmpfs', 'x']],
    ['only the first -- separates', ['--', 'cmd', '--', 'arg'], ['cmd', '--', 'arg']],
    ['a command that starts with - after --', ['--', '-weird'], ['-weird']],
    ['a command named --', ['--', '--'], ['--']],
  ])('%s', (_name, argv, command) => {
    expect(run(...argv).command).toEqual(command);
  });

  test('options after the command are not parsed', () => {
    const args = run('cmd', '--unshare-net');
    expect(args.unshareNet).toBe(false);
  });
});

describe('parseRunArgs: usage errors', () => {
  test.each<[string, string[], string, string]>([
    ['unknown long option', ['--frobnicate', '--', 'x'], '--frobnicate', 'unknown option'],
    ['unknown option in --opt=value form', ['--frob=1', '--', 'x'], '--frob', 'unknown option'],
    ['unknown short option', ['-x', '--', 'x'], '-x', 'unknown option'],
    ['a flag given a value', ['--verbose=yes', '--', 'x'], '--verbose', 'takes no value'],
    ['missing value for --ro-bind', ['--ro-bind'], '--ro-bind', 'expects a value'],
    ['missing value for --tmpfs', ['-v', '--tmpfs'], '--tmpfs', 'expects a value'],
    ['missing value for --setenv', ['--setenv'], '--setenv', 'expects a value'],
    ['missing value for --uid', ['--uid'], '--uid', 'expects a value'],
    ['missing value for --hostname', ['--hostname'], '--hostname', 'expects a value'],
    ['relative bind destination', ['--bind', '/src:rel', '--', 'x'], '--bind /src:rel', 'the destination must be absolute, got "rel"'],
    ['empty bind destination', ['--ro-bind', '/src:', '--', 'x'], '--ro-bind /src:', 'the destination must be absolute'],
    ['empty bind source', ['--ro-bind', ':/dst', '--', 'x'], '--ro-bind :/dst', 'non-empty SRC'],
    ['empty bind value', ['--bind=', '--', 'x'], '--bind', 'expects a value'],
    ['malformed tmpfs size', ['--tmpfs', '/x:12x', '--', 'x'], '--tmpfs /x:12x', 'expected a positive size like 64m, 1g, 512k or a number of bytes, got "12x"'],
    ['zero tmpfs size', ['--tmpfs', '/x:0', '--', 'x'], '--tmpfs /x:0', 'expected a positive size like 64m, 1g, 512k or a number of bytes, got "0"'],
    ['empty tmpfs size', ['--tmpfs=/x:', '--', 'x'], '--tmpfs /x:', 'a number of bytes, got ""'],
    ['relative tmpfs destination', ['--tmpfs', 'x:1m', '--', 'x'], '--tmpfs x:1m', 'expected an absolute DST[:SIZE], got "x"'],
    ['malformed --root-size', ['--root-size', '1.5g', '--', 'x'], '--root-size 1.5g', 'expected a positive size like 64m, 1g, 512k or a number of bytes, got "1.5g"'],
    ['bad --uid', ['--uid', '1000', '--', 'x'], '--uid 1000', 'expected one of "same", "root", got "1000" (string)'],
    ['bad --project-mode', ['--project-mode', 'rw', '--', 'x'], '--project-mode rw', 'expected one of "overlay", "readonly", "writable", got "rw"'],
    ['bad --hostname, by the same rule as the option', ['--hostname', 'my host', '--', 'x'], '--hostname my host', 'expected letters, digits, dots and dashes (at most 63)'],
    ['--setenv without =', ['--setenv', 'FOO', '--', 'x'], '--setenv FOO', 'expected K=V'],
    ['--setenv with an empty key', ['--setenv', '=v', '--', 'x'], '--setenv =v', 'expected K=V'],
    ['--setenv with a name sh would drop', ['--setenv', 'A-B=v', '--', 'x'], '--setenv A-B=v', 'invalid variable name "A-B"'],
    ['--unsetenv with a name sh would drop', ['--unsetenv', 'a b', '--', 'x'], '--unsetenv a b', 'invalid variable name "a b"'],
    ['no command at all', [], 'run', 'no command given'],
    ['no command after options', ['-v', '--tmpfs', '/t'], 'run', 'no command given'],
    ['nothing after --', ['--'], 'run', 'no command given'],
  ])('%s', (_name, argv, field, fragment) => {
    const error = configErrorOf(() => parseRunArgs(argv, CWD));
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect(error.message).toContain(fragment);
  });
});

test('a bind whose source has a colon: the hint names the form that can carry it', () => {
  const error = configErrorOf(() => parseRunArgs(['--bind', '/a:b:/mnt', '--', 'x'], CWD));
  expect(error.message).toContain('the destination must be absolute, got "b:/mnt"');
  expect(error.hint).toBe('a path with ":" in it cannot be written as SRC:DST; give it as --config-json \'{"binds": [{"source": "...", "target": "...", "writable": true}]}\'');
});

describe('parseCli', () => {
  test.each<[string[], string]>([
    [[], 'help'],
    [['--help'], 'help'],
    [['-h'], 'help'],
    [['help'], 'help'],
    [['run', '--help'], 'help'],
    [['run', '-h'], 'help'],
    [['--version'], 'version'],
  ])('%j is %s', (argv, kind) => {
    expect(parseCli(argv, CWD)).toEqual({ kind });
  });

  test('run parses its arguments against cwd', () => {
    const parsed = parseCli(['run', '--bind', 'out', 'make'], CWD);
    expect(parsed.kind).toBe('run');
    if (parsed.kind !== 'run') return;
    expect(parsed.args.mounts).toEqual([{ type: 'bind', source: '/home/u/proj/out', dest: '/home/u/proj/out', role: 'user', origin: '--bind out' }]);
    expect(parsed.args.command).toEqual(['make']);
  });

  test('--help after an option is the command, not help', () => {
    const parsed = parseCli(['run', '--', '--help'], CWD);
    expect(parsed).toMatchObject({ kind: 'run', args: { command: ['--help'] } });
  });

  test.each<[string[], string]>([
    [['exec', 'ls'], 'exec'],
    [['--verbose'], '--verbose'],
  ])('unknown command %j', (argv, field) => {
    const error = configErrorOf(() => parseCli(argv, CWD));
    expect(error.field).toBe(field);
    expect(error.message).toMatch(new RegExp(`^${field}: unknown command`));
  });

  test('run without a command is a config error', () => {
    expect(configErrorOf(() => parseCli(['run'], CWD)).field).toBe('run');
  });
});

describe('mount-sandbox doctor', () => {
  test('plain, and with --fix', () => {
    expect(parseCli(['doctor'], CWD)).toEqual({ kind: 'doctor', fix: false });
    expect(parseCli(['doctor', '--fix'], CWD)).toEqual({ kind: 'doctor', fix: true });
  });

  test('an unknown doctor option is named', () => {
    expect(configErrorOf(() => parseCli(['doctor', '--fx'], CWD)).message).toBe('--fx: unknown doctor option; expected --fix (see mount-sandbox --help)');
  });
});
