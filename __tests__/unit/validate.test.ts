import { isSandboxError, type SandboxError } from '../../src/shared/errors';
import { describeOp, type MountOp, type SandboxSpec } from '../../src/shared/spec';
import { checkAbsolutePath, validateSpec } from '../../src/shared/validate';

function goodSpec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    rootSize: 1024 ** 3,
    processLimit: 1024,
    uid: 'same',
    network: 'host',
    mounts: [
      { type: 'ro-bind', role: 'system', source: '/usr', dest: '/usr' },
      { type: 'symlink', role: 'system', target: 'usr/bin', dest: '/bin' },
      { type: 'tmpfs', role: 'tmp', dest: '/tmp', size: 1024 ** 3, mode: 0o1777 },
      { type: 'dir', role: 'tmp', dest: '/var/tmp', mode: 0o1777 },
      { type: 'dev', role: 'dev', dest: '/dev' },
      { type: 'tmpfs', role: 'dev', dest: '/dev/shm', mode: 0o1777 },
      { type: 'mqueue', role: 'dev', dest: '/dev/mqueue' },
      { type: 'proc', role: 'proc', dest: '/proc' },
      { type: 'bind', role: 'project', source: '/home/u/proj', dest: '/home/u/proj', optional: true, propagation: 'slave' },
    ],
    cwd: '/home/u/proj',
    env: { PATH: '/usr/bin:/bin', HOME: '/home/u', EMPTY: '' },
    ...overrides,
  };
}

function specWith(op: MountOp): SandboxSpec {
  return goodSpec({ mounts: [{ type: 'ro-bind', role: 'user', source: '/usr', dest: '/usr' }, op] });
}

function configErrorOf(spec: SandboxSpec): SandboxError {
  let thrown: unknown;
  try {
    validateSpec(spec);
  } catch (error) {
    thrown = error;
  }
  expect(isSandboxError(thrown)).toBe(true);
  const error = thrown as SandboxError;
  expect(error.kind).toBe('config');
  return error;
}

describe('validateSpec accepts', () => {
  test('a typical spec', () => {
    expect(() => validateSpec(goodSpec())).not.toThrow();
  });

  test.each<[string, MountOp]>([
    ['proc at /proc', { type: 'proc', role: 'user', dest: '/proc' }],
    ['dev at /dev', { type: 'dev', role: 'user', dest: '/dev' }],
    ['dev at /dev/ (trailing slash)', { type: 'dev', role: 'user', dest: '/dev/' }],
    ['tmpfs at /dev/shm', { type: 'tmpfs', role: 'user', dest: '/dev/shm' }],
    ['mqueue at /dev/mqueue', { type: 'mqueue', role: 'user', dest: '/dev/mqueue' }],
    ['mqueue at /dev/mqueue/ (trailing slash)', { type: 'mqueue', role: 'user', dest: '/dev/mqueue/' }],
    ['a path next to /dev, not under it', { type: 'bind', role: 'user', source: '/data', dest: '/device' }],
    ['a path next to /proc, not under it', { type: 'tmpfs', role: 'user', dest: '/process' }],
    ['a path next to /sys, not under it', { type: 'dir', role: 'user', dest: '/system' }],
    ['a path with "." and doubled slashes', { type: 'ro-bind', role: 'user', source: '/a/./b', dest: '/x//y/.' }],
    ['a name that merely contains dots', { type: 'ro-bind', role: 'user', source: '/a/..b', dest: '/c/...' }],
    ['mode 0', { type: 'dir', role: 'user', dest: '/d', mode: 0 }],
    ['mode 07777', { type: 'tmpfs', role: 'user', dest: '/t', mode: 0o7777 }],
    ['a relative symlink target', { type: 'symlink', role: 'user', dest: '/lib', target: 'usr/lib' }],
  ])('%s', (_name, op) => {
    expect(() => validateSpec(specWith(op))).not.toThrow();
  });

  test.each(['box', 'a', 'my-host.example.org', 'A1', 'x'.repeat(63)])('hostname %j', (hostname) => {
    expect(() => validateSpec(goodSpec({ hostname }))).not.toThrow();
  });
});

describe('validateSpec rejects mount ops, naming the field', () => {
  // [name, op, field without origin, fragment of the message]
  test.each<[string, MountOp, string, string]>([
    ['a relative dest', { type: 'tmpfs', role: 'user', dest: 'tmp' }, 'mounts[1].dest', 'got relative "tmp"'],
    ['an empty dest', { type: 'dir', role: 'user', dest: '' }, 'mounts[1].dest', 'expected an absolute destination, got ""'],
    ['dest /', { type: 'tmpfs', role: 'user', dest: '/' }, 'mounts[1].dest', 'cannot be /'],
    ['dest / spelled /.', { type: 'ro-bind', role: 'user', source: '/x', dest: '/.' }, 'mounts[1].dest', 'cannot be /'],
    ['a bind at /proc', { type: 'bind', role: 'user', source: '/x', dest: '/proc' }, 'mounts[1].dest', 'under /proc'],
    ['a bind under /proc', { type: 'ro-bind', role: 'user', source: '/x', dest: '/proc/sys' }, 'mounts[1].dest', 'under /proc'],
    ['a bind under //proc', { type: 'ro-bind', role: 'user', source: '/x', dest: '//proc/1' }, 'mounts[1].dest', 'under /proc'],
    ['a bind under /sys', { type: 'bind', role: 'user', source: '/x', dest: '/sys/fs/cgroup' }, 'mounts[1].dest', 'under /sys'],
    ['a tmpfs at /sys', { type: 'tmpfs', role: 'user', dest: '/sys' }, 'mounts[1].dest', 'under /sys'],
    ['a bind under /dev', { type: 'bind', role: 'user', source: '/x', dest: '/dev/null' }, 'mounts[1].dest', 'under /dev'],
    ['a bind at /dev/shm', { type: 'bind', role: 'user', source: '/x', dest: '/dev/shm' }, 'mounts[1].dest', 'under /dev'],
    ['a tmpfs below /dev/shm', { type: 'tmpfs', role: 'user', dest: '/dev/shm/x' }, 'mounts[1].dest', 'under /dev'],
    ['a tmpfs at /dev', { type: 'tmpfs', role: 'user', dest: '/dev' }, 'mounts[1].dest', 'under /dev'],
    ['proc elsewhere under /proc', { type: 'proc', role: 'user', dest: '/proc/x' }, 'mounts[1].dest', 'under /proc'],
    ['proc at /dev', { type: 'proc', role: 'user', dest: '/dev' }, 'mounts[1].dest', 'under /dev'],
    ['dev at /proc', { type: 'dev', role: 'user', dest: '/proc' }, 'mounts[1].dest', 'under /proc'],
    ['dev under /dev', { type: 'dev', role: 'user', dest: '/dev/pts' }, 'mounts[1].dest', 'under /dev'],
    ['mqueue elsewhere under /dev', { type: 'mqueue', role: 'user', dest: '/dev/mq' }, 'mounts[1].dest', 'under /dev'],
    ['mqueue outside /dev', { type: 'mqueue', role: 'user', dest: '/tmp/mqueue' }, 'mounts[1].dest', 'belongs at /dev/mqueue, not /tmp/mqueue'],
    ['a tmpfs at /dev/mqueue', { type: 'tmpfs', role: 'user', dest: '/dev/mqueue' }, 'mounts[1].dest', 'under /dev'],
    ['a bind at /dev/mqueue', { type: 'bind', role: 'user', source: '/dev/mqueue', dest: '/dev/mqueue' }, 'mounts[1].dest', 'under /dev'],
    ['.. in dest', { type: 'tmpfs', role: 'user', dest: '/a/../etc' }, 'mounts[1].dest', 'contains ".."'],
    ['.. at the end of dest', { type: 'tmpfs', role: 'user', dest: '/a/..' }, 'mounts[1].dest', 'contains ".."'],
    ['.. in source', { type: 'ro-bind', role: 'user', source: '/home/../etc', dest: '/e' }, 'mounts[1].source', 'contains ".."'],
    ['a relative source', { type: 'ro-bind', role: 'user', source: 'etc', dest: '/e' }, 'mounts[1].source', 'got relative "etc"'],
    ['an empty source', { type: 'bind', role: 'user', source: '', dest: '/e' }, 'mounts[1].source', 'got ""'],
    ['a zero tmpfs size', { type: 'tmpfs', role: 'user', dest: '/t', size: 0 }, 'mounts[1].size', 'positive size'],
    ['a negative tmpfs size', { type: 'tmpfs', role: 'user', dest: '/t', size: -1 }, 'mounts[1].size', 'got -1'],
    ['a fractional tmpfs size', { type: 'tmpfs', role: 'user', dest: '/t', size: 1.5 }, 'mounts[1].size', 'got 1.5'],
    ['an unsafe tmpfs size', { type: 'tmpfs', role: 'user', dest: '/t', size: 2 ** 53 }, 'mounts[1].size', 'positive size'],
    ['a tmpfs mode above 07777', { type: 'tmpfs', role: 'user', dest: '/t', mode: 0o10000 }, 'mounts[1].mode', 'between 0 and 07777'],
    ['a negative dir mode', { type: 'dir', role: 'user', dest: '/d', mode: -1 }, 'mounts[1].mode', 'got -1'],
    ['a fractional dir mode', { type: 'dir', role: 'user', dest: '/d', mode: 0.5 }, 'mounts[1].mode', 'got 0.5'],
    ['an empty symlink target', { type: 'symlink', role: 'user', dest: '/l', target: '' }, 'mounts[1].target', 'non-empty symlink target'],
  ])('%s', (_name, op, field, fragment) => {
    const error = configErrorOf(specWith(op));
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect(error.message).toContain(fragment);

    // With an origin, the origin is named instead of the spec field.
    const withOrigin = configErrorOf(specWith({ ...op, origin: '--opt VALUE' }));
    expect(withOrigin.field).toBe('--opt VALUE');
    expect(withOrigin.message.startsWith('--opt VALUE: ')).toBe(true);
    expect(withOrigin.message).toContain(fragment);
  });

  test('the index is the position of the failing op', () => {
    const spec = goodSpec();
    spec.mounts.push({ type: 'tmpfs', role: 'user', dest: '/ok' }, { type: 'tmpfs', role: 'user', dest: '/sys/x' });
    expect(configErrorOf(spec).field).toBe(`mounts[${spec.mounts.length - 1}].dest`);
  });

  test('an unknown op type names mounts[i].type even with an origin', () => {
    const op = { type: 'union', role: 'user', dest: '/o', origin: '--union /o' } as unknown as MountOp;
    const error = configErrorOf(specWith(op));
    expect(error.field).toBe('mounts[1].type');
    expect(error.message).toContain('unknown mount type "union"');
  });

  test.each([
    ['an unknown role', 'scratch'],
    ['no role', undefined],
  ])('%s names mounts[i].role, or the origin', (_name, role) => {
    const op = { type: 'tmpfs', dest: '/t', role } as unknown as MountOp;
    const error = configErrorOf(specWith(op));
    expect(error.field).toBe('mounts[1].role');
    expect(error.message).toContain(`unknown mount role ${JSON.stringify(role)}`);
    expect(configErrorOf(specWith({ ...op, origin: '--tmpfs /t' })).field).toBe('--tmpfs /t');
  });

  test('the first failing op wins', () => {
    const error = configErrorOf(goodSpec({ mounts: [{ type: 'tmpfs', role: 'user', dest: '/ok' }, { type: 'tmpfs', role: 'user', dest: 'rel', origin: 'first' }, { type: 'tmpfs', role: 'user', dest: '/', origin: 'second' }] }));
    expect(error.field).toBe('first');
  });
});

describe('validateSpec rejects the rest of the spec, naming the field', () => {
  test.each<[string, Partial<SandboxSpec>, string, string]>([
    ['rootSize 0', { rootSize: 0 }, 'rootSize', 'got 0'],
    ['fractional rootSize', { rootSize: 1.5 }, 'rootSize', 'got 1.5'],
    ['uid 1000', { uid: 1000 as unknown as SandboxSpec['uid'] }, 'uid', 'got 1000'],
    ['network "bridge"', { network: 'bridge' as SandboxSpec['network'] }, 'network', 'got "bridge"'],
    ['an empty hostname', { hostname: '' }, 'hostname', 'got ""'],
    ['a hostname starting with -', { hostname: '-box' }, 'hostname', 'got "-box"'],
    ['a hostname starting with .', { hostname: '.box' }, 'hostname', 'got ".box"'],
    ['a hostname with _', { hostname: 'my_box' }, 'hostname', 'got "my_box"'],
    ['a hostname with a space', { hostname: 'my box' }, 'hostname', 'got "my box"'],
    ['a hostname with a slash', { hostname: 'a/b' }, 'hostname', 'got "a/b"'],
    ['a hostname of 64 characters', { hostname: 'x'.repeat(64) }, 'hostname', 'at most 63'],
    ['a relative cwd', { cwd: 'proj' }, 'cwd', 'got relative "proj"'],
    ['an empty cwd', { cwd: '' }, 'cwd', 'got ""'],
    ['.. in cwd', { cwd: '/home/u/../v' }, 'cwd', 'contains ".."'],
    ['an empty env key', { env: { '': 'x' } }, 'env', 'invalid variable name ""'],
    ['an env key with =', { env: { 'A=B': 'x' } }, 'env', 'invalid variable name "A=B"'],
    ['an env key with NUL', { env: { 'A\0B': 'x' } }, 'env', 'invalid variable name'],
    ['an env value with NUL', { env: { A: 'x\0y' } }, 'env.A', 'without NUL bytes'],
    ['a non-string env value', { env: { A: 1 as unknown as string } }, 'env.A', 'without NUL bytes'],
  ])('%s', (_name, overrides, field, fragment) => {
    const error = configErrorOf(goodSpec(overrides));
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect(error.message).toContain(fragment);
  });
});

describe('checkAbsolutePath', () => {
  test.each<[string, string]>([
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b'],
    ['/a//b/./c', '/a/b/c'],
    ['/', '/'],
    ['//', '/'],
  ])('%j normalizes to %j', (input, output) => {
    expect(checkAbsolutePath(input, 'f')).toBe(output);
  });
});

describe('describeOp', () => {
  // What --verbose and setup errors print for each op.
  test.each<[MountOp, string]>([
    [{ type: 'mqueue', role: 'user', dest: '/dev/mqueue' }, 'mqueue /dev/mqueue'],
    [{ type: 'proc', role: 'user', dest: '/proc' }, 'proc /proc'],
    [{ type: 'tmpfs', role: 'user', dest: '/dev/shm', size: 1024, mode: 0o1777 }, 'tmpfs /dev/shm size=1024 mode=1777'],
  ])('%j', (op, text) => {
    expect(describeOp(op)).toBe(text);
  });
});
