import {
  DEFAULT_ROOT_SIZE, DEFAULT_TMP_SIZE, defaultSpec, isCovered, isUnder, visibilityMounts, type HostFacts,
} from '../../src/host/defaults';
import type { MountOp } from '../../src/shared/spec';
import { FakeHost, type FakeTree } from './fake-host';

const MERGED_USR: FakeTree = {
  '/usr/bin/node': 'file',
  '/usr/bin/env': 'file',
  '/usr/sbin': 'dir',
  '/usr/lib': 'dir',
  '/usr/lib64': 'dir',
  '/bin': '-> usr/bin',
  '/sbin': '-> usr/sbin',
  '/lib': '-> usr/lib',
  '/lib64': '-> usr/lib64',
  '/etc/passwd': 'file',
  '/tmp': 'dir',
  '/home/u/proj/package.json': 'file',
};

const SPLIT_USR: FakeTree = {
  '/usr/bin/node': 'file',
  '/bin/sh': 'file',
  '/sbin/init': 'file',
  '/lib/x86_64-linux-gnu': 'dir',
  '/lib64/ld-linux-x86-64.so.2': 'file',
  '/libx32': 'file', // neither a directory nor a symlink: left out
  '/etc/passwd': 'file',
  '/tmp': 'dir',
  '/home/u/proj/package.json': 'file',
};

function facts(overrides: Partial<HostFacts> = {}): HostFacts {
  return { execPath: '/usr/bin/node', home: '/home/u', projectDir: '/home/u/proj', env: { PATH: '/usr/bin:/bin' }, ...overrides };
}

/** One line per op, enough to check order and content. */
function brief(op: MountOp): string {
  switch (op.type) {
    case 'bind':
    case 'ro-bind':
      return op.source === op.dest ? `${op.type} ${op.dest}` : `${op.type} ${op.source} -> ${op.dest}`;
    case 'symlink':
      return `symlink ${op.dest} -> ${op.target}`;
    default:
      return `${op.type} ${op.dest}`;
  }
}

function briefs(host: FakeHost, f: HostFacts): string[] {
  return defaultSpec(host, f).mounts.map(brief);
}

function indexOf(list: string[], entry: string): number {
  const index = list.indexOf(entry);
  if (index < 0) throw new Error(`${entry} not in\n${list.join('\n')}`);
  return index;
}

describe('defaultSpec', () => {
  test('on a merged-/usr host: the complete spec', () => {
    const spec = defaultSpec(new FakeHost(MERGED_USR), facts({ env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', UNSET: undefined } }));
    expect(spec).toEqual({
      rootSize: DEFAULT_ROOT_SIZE,
      uid: 'same',
      network: 'host',
      processLimit: 1024,
      mounts: [
        { type: 'ro-bind', source: '/usr', dest: '/usr', role: 'system', origin: 'default /usr' },
        { type: 'symlink', target: 'usr/bin', dest: '/bin', role: 'system', origin: 'default /bin' },
        { type: 'symlink', target: 'usr/sbin', dest: '/sbin', role: 'system', origin: 'default /sbin' },
        { type: 'symlink', target: 'usr/lib', dest: '/lib', role: 'system', origin: 'default /lib' },
        { type: 'symlink', target: 'usr/lib64', dest: '/lib64', role: 'system', origin: 'default /lib64' },
        { type: 'ro-bind', source: '/etc', dest: '/etc', role: 'system', origin: 'default /etc' },
        { type: 'tmpfs', dest: '/tmp', mode: 0o1777, size: DEFAULT_TMP_SIZE, role: 'tmp', origin: 'default /tmp' },
        { type: 'dir', dest: '/var', mode: 0o755, role: 'tmp', origin: 'default /var' },
        { type: 'dir', dest: '/var/tmp', mode: 0o1777, role: 'tmp', origin: 'default /var/tmp' },
        { type: 'dir', dest: '/home/u', mode: 0o700, role: 'home', origin: 'default $HOME' },
        { type: 'dev', dest: '/dev', role: 'dev', origin: 'default /dev' },
        { type: 'tmpfs', dest: '/dev/shm', mode: 0o1777, size: 64 * 1024 ** 2, role: 'dev', origin: 'default /dev/shm' },
        { type: 'mqueue', dest: '/dev/mqueue', role: 'dev', origin: 'default /dev/mqueue' },
        { type: 'proc', dest: '/proc', role: 'proc', origin: 'default /proc' },
        { type: 'ro-bind', source: '/home/u/proj', dest: '/home/u/proj', role: 'project', origin: 'default project' },
      ],
      cwd: '/home/u/proj',
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/home/u' },
    });
    expect(DEFAULT_ROOT_SIZE).toBe(1024 ** 3);
    expect(DEFAULT_TMP_SIZE).toBe(1024 ** 3);
  });

  test('merged /usr with absolute symlink targets keeps each target as written', () => {
    const host = new FakeHost({ ...MERGED_USR, '/bin': '-> /usr/bin', '/lib': '-> /usr/lib' });
    const mounts = briefs(host, facts());
    expect(mounts).toContain('symlink /bin -> /usr/bin');
    expect(mounts).toContain('symlink /lib -> /usr/lib');
    expect(mounts).toContain('symlink /sbin -> usr/sbin');
  });

  test('on a split-/usr host the top-level directories are bound read-only', () => {
    const mounts = briefs(new FakeHost(SPLIT_USR), facts());
    expect(mounts.slice(0, 6)).toEqual(['ro-bind /usr', 'ro-bind /bin', 'ro-bind /sbin', 'ro-bind /lib', 'ro-bind /lib64', 'ro-bind /etc']);
    expect(mounts.filter((m) => m.startsWith('symlink'))).toEqual([]);
    expect(mounts.some((m) => m.includes('/libx32') || m.includes('/lib32'))).toBe(false);
  });

  describe('the node prefix', () => {
    test.each<[string, FakeTree, string, string | undefined]>([
      ['under /usr: already visible', {}, '/usr/bin/node', undefined],
      ['reached through /bin on merged /usr: already visible', {}, '/bin/node', undefined],
      ['under /usr/local: already visible', { '/usr/local/bin/node': 'file' }, '/usr/local/bin/node', undefined],
      ['outside /usr', { '/opt/node/bin/node': 'file' }, '/opt/node/bin/node', 'ro-bind /opt/node'],
      ['a symlinked node: the real prefix', { '/opt/node-v20/bin/node': 'file', '/usr/local/bin/node': '-> /opt/node-v20/bin/node' }, '/usr/local/bin/node', 'ro-bind /opt/node-v20'],
      ['a symlinked prefix directory: its real path', { '/opt/node-v20/bin/node': 'file', '/opt/node': '-> node-v20' }, '/opt/node/bin/node', 'ro-bind /opt/node-v20'],
    ])('%s', (_name, extra, execPath, expected) => {
      const spec = defaultSpec(new FakeHost({ ...MERGED_USR, ...extra }), facts({ execPath }));
      const added = spec.mounts.filter((op) => op.role === 'toolchain').map(brief);
      expect(added).toEqual(expected === undefined ? [] : [expected]);
    });

    test('under $HOME (nvm) is bound after the $HOME directory and before the project', () => {
      const host = new FakeHost({ ...MERGED_USR, '/home/u/.nvm/versions/node/v20.11.0/bin/node': 'file' });
      const mounts = briefs(host, facts({ execPath: '/home/u/.nvm/versions/node/v20.11.0/bin/node' }));
      const prefix = indexOf(mounts, 'ro-bind /home/u/.nvm/versions/node/v20.11.0');
      expect(prefix).toBeGreaterThan(indexOf(mounts, 'dir /home/u'));
      expect(prefix).toBeLessThan(indexOf(mounts, 'ro-bind /home/u/proj'));
    });

    test('under /tmp is bound after the /tmp tmpfs', () => {
      const host = new FakeHost({ ...MERGED_USR, '/tmp/node/bin/node': 'file' });
      const mounts = briefs(host, facts({ execPath: '/tmp/node/bin/node' }));
      expect(indexOf(mounts, 'ro-bind /tmp/node')).toBeGreaterThan(indexOf(mounts, 'tmpfs /tmp'));
    });
  });

  describe('the project', () => {
    test('under /tmp: bound after the /tmp tmpfs that would hide it', () => {
      const host = new FakeHost({ ...MERGED_USR, '/tmp/work/proj/package.json': 'file' });
      const spec = defaultSpec(host, facts({ projectDir: '/tmp/work/proj' }));
      const mounts = spec.mounts.map(brief);
      expect(mounts.filter((m) => m === 'ro-bind /tmp/work/proj')).toHaveLength(1);
      expect(indexOf(mounts, 'ro-bind /tmp/work/proj')).toBeGreaterThan(indexOf(mounts, 'tmpfs /tmp'));
      expect(spec.cwd).toBe('/tmp/work/proj');
    });

    test('under $HOME: bound after the $HOME directory that would hide it', () => {
      const mounts = briefs(new FakeHost(MERGED_USR), facts());
      expect(indexOf(mounts, 'ro-bind /home/u/proj')).toBeGreaterThan(indexOf(mounts, 'dir /home/u'));
    });

    test('$HOME itself: bound after the $HOME directory', () => {
      const mounts = briefs(new FakeHost(MERGED_USR), facts({ projectDir: '/home/u' }));
      expect(indexOf(mounts, 'ro-bind /home/u')).toBeGreaterThan(indexOf(mounts, 'dir /home/u'));
    });

    test('reached through a symlinked path: bound at its real path and at the symlinked one, cwd stays symlinked', () => {
      const host = new FakeHost({ ...MERGED_USR, '/data/proj/package.json': 'file', '/home/u/proj': '-> /data/proj' });
      const spec = defaultSpec(host, facts({ projectDir: '/home/u/proj' }));
      const project = spec.mounts.filter((op) => op.role === 'project');
      expect(project).toEqual([
        { type: 'ro-bind', source: '/data/proj', dest: '/data/proj', role: 'project', origin: 'default project' },
        { type: 'ro-bind', source: '/data/proj', dest: '/home/u/proj', role: 'project', origin: 'default project (symlinked path)' },
      ]);
      expect(spec.cwd).toBe('/home/u/proj');
      const mounts = spec.mounts.map(brief);
      expect(indexOf(mounts, 'ro-bind /data/proj -> /home/u/proj')).toBeGreaterThan(indexOf(mounts, 'dir /home/u'));
    });

    test('through a symlinked ancestor: both paths too', () => {
      const host = new FakeHost({ ...MERGED_USR, '/srv/code/app/package.json': 'file', '/home/u/code': '-> /srv/code' });
      const mounts = briefs(host, facts({ projectDir: '/home/u/code/app' }));
      expect(mounts.slice(-2)).toEqual(['ro-bind /srv/code/app', 'ro-bind /srv/code/app -> /home/u/code/app']);
    });
  });

  describe('$HOME', () => {
    test.each<[string, boolean]>([
      ['/home/u', true],
      ['/root', true],
      ['/var/lib/ci', true],
      ['/tmp/home', true],
      ['/tmp/ci/home/runner', true],
      ['/var/tmp/home', true],
      // Fresh and writable already: a directory op would only change their modes.
      ['/', false],
      ['/tmp', false],
      ['/var', false],
      ['/var/tmp', false],
    ])('home %j gets a directory op: %s', (home, expected) => {
      const spec = defaultSpec(new FakeHost(MERGED_USR), facts({ home }));
      const homeOps = spec.mounts.filter((op) => op.role === 'home');
      expect(homeOps).toEqual(expected ? [{ type: 'dir', dest: home, mode: 0o700, role: 'home', origin: 'default $HOME' }] : []);
      expect(spec.env.HOME).toBe(home);
    });

    test('a $HOME under /tmp comes after the /tmp tmpfs that would hide it', () => {
      const mounts = briefs(new FakeHost(MERGED_USR), facts({ home: '/tmp/ci/home' }));
      expect(indexOf(mounts, 'dir /tmp/ci/home')).toBeGreaterThan(indexOf(mounts, 'tmpfs /tmp'));
    });

    test('the $HOME directory comes after /var and /var/tmp, before /dev', () => {
      const mounts = briefs(new FakeHost(MERGED_USR), facts({ home: '/var/lib/ci' }));
      const home = indexOf(mounts, 'dir /var/lib/ci');
      expect(home).toBeGreaterThan(indexOf(mounts, 'dir /var/tmp'));
      expect(home).toBeLessThan(indexOf(mounts, 'dev /dev'));
    });
  });

  describe('node_modules', () => {
    const MONOREPO: FakeTree = {
      ...MERGED_USR,
      '/home/u/mono/package.json': 'file',
      '/home/u/mono/node_modules/lodash/package.json': 'file',
      '/home/u/mono/node_modules/@scope/tool/package.json': 'file',
      '/home/u/mono/packages/app/package.json': 'file',
      '/home/u/mono/packages/app/node_modules/left-pad/package.json': 'file',
      '/home/u/mono/packages/lib/package.json': 'file',
      // A workspace package linked into the root node_modules; it lives outside the project (packages/app).
      '/home/u/mono/node_modules/@scope/lib': '-> ../../packages/lib',
    };

    test('the project\'s own node_modules is covered by the project bind', () => {
      const mounts = briefs(new FakeHost(MONOREPO), facts({ projectDir: '/home/u/mono/packages/app' }));
      expect(mounts.filter((m) => m.includes('node_modules'))).toEqual(['ro-bind /home/u/mono/node_modules']);
    });

    test('an ancestor\'s node_modules is bound, after the project, with its origin', () => {
      const spec = defaultSpec(new FakeHost(MONOREPO), facts({ projectDir: '/home/u/mono/packages/app' }));
      const mounts = spec.mounts.map(brief);
      expect(indexOf(mounts, 'ro-bind /home/u/mono/node_modules')).toBeGreaterThan(indexOf(mounts, 'ro-bind /home/u/mono/packages/app'));
      expect(spec.mounts.find((op) => op.dest === '/home/u/mono/node_modules')?.origin).toBe('default node_modules');
    });

    test('a scoped package linked to a workspace outside the project is bound at its real path', () => {
      const spec = defaultSpec(new FakeHost(MONOREPO), facts({ projectDir: '/home/u/mono/packages/app' }));
      expect(spec.mounts.filter((op) => op.dest === '/home/u/mono/packages/lib')).toEqual([
        { type: 'ro-bind', source: '/home/u/mono/packages/lib', dest: '/home/u/mono/packages/lib', role: 'modules', origin: 'default linked package @scope/lib' },
      ]);
    });

    test('node_modules at every level up to / are bound, nearest first', () => {
      const host = new FakeHost({
        ...MERGED_USR,
        '/node_modules/a/package.json': 'file',
        '/home/node_modules/b/package.json': 'file',
        '/home/u/node_modules/c/package.json': 'file',
      });
      const mounts = briefs(host, facts());
      expect(mounts.filter((m) => m.includes('node_modules'))).toEqual([
        'ro-bind /home/u/node_modules', 'ro-bind /home/node_modules', 'ro-bind /node_modules',
      ]);
    });

    test('a node_modules that is a file or a symlink is not a node_modules directory', () => {
      const host = new FakeHost({ ...MERGED_USR, '/home/u/node_modules': 'file', '/home/node_modules': '-> /opt/nm', '/opt/nm/x/package.json': 'file' });
      expect(briefs(host, facts()).filter((m) => m.includes('node_modules') || m.includes('/opt'))).toEqual([]);
    });

    test.each<[string, FakeTree, string[]]>([
      [
        'a linked package outside: bound at its realpath',
        { '/home/u/proj/node_modules/mylib': '-> /home/u/src/mylib', '/home/u/src/mylib/package.json': 'file' },
        ['ro-bind /home/u/src/mylib'],
      ],
      [
        'a relative link: resolved',
        { '/home/u/proj/node_modules/mylib': '-> ../../src/mylib', '/home/u/src/mylib/package.json': 'file' },
        ['ro-bind /home/u/src/mylib'],
      ],
      [
        'a scoped linked package',
        { '/home/u/proj/node_modules/@me/util': '-> /opt/util', '/opt/util/package.json': 'file' },
        ['ro-bind /opt/util'],
      ],
      [
        'a link through a symlinked directory: its final realpath',
        { '/home/u/proj/node_modules/mylib': '-> /home/u/link/mylib', '/home/u/link': '-> /srv/libs', '/srv/libs/mylib/package.json': 'file' },
        ['ro-bind /srv/libs/mylib'],
      ],
      [
        'a link inside the project: already covered',
        { '/home/u/proj/node_modules/inner': '-> ../packages/inner', '/home/u/proj/packages/inner/package.json': 'file' },
        [],
      ],
      [
        'a link to a file is not a package',
        { '/home/u/proj/node_modules/f': '-> /opt/file', '/opt/file': 'file' },
        [],
      ],
      [
        'two links into one directory: bound once',
        { '/home/u/proj/node_modules/a': '-> /opt/libs/a', '/home/u/proj/node_modules/b': '-> /opt/libs/a', '/opt/libs/a/package.json': 'file' },
        ['ro-bind /opt/libs/a'],
      ],
      [
        'a regular package is not bound on its own',
        { '/home/u/proj/node_modules/plain/package.json': 'file' },
        [],
      ],
    ])('%s', (_name, extra, expected) => {
      const spec = defaultSpec(new FakeHost({ ...MERGED_USR, ...extra }), facts());
      expect(spec.mounts.filter((op) => op.origin?.startsWith('default linked package')).map(brief)).toEqual(expected);
    });
  });

  describe('TMPDIR', () => {
    const HOST: FakeTree = {
      ...MERGED_USR,
      '/home/u/proj/.tmp': 'dir',
      '/home/u/proj/tmp-link': '-> /srv/tmp',
      '/home/u/proj/node_modules/.cache/tmp': 'dir',
      '/data/proj/.tmp': 'dir',
      '/home/u/linked': '-> /data/proj',
    };
    const TMPFS = (dest: string): MountOp => ({ type: 'tmpfs', dest, mode: 0o700, size: DEFAULT_TMP_SIZE, role: 'tmp', origin: 'default $TMPDIR' });
    const DIR = (dest: string): MountOp => ({ type: 'dir', dest, mode: 0o700, role: 'tmp', origin: 'default $TMPDIR' });

    // [name, TMPDIR, the ops it adds (undefined: TMPDIR is unset), the project's path]
    test.each<[string, string | undefined, MountOp[] | undefined, string]>([
      ['no TMPDIR stays unset', undefined, undefined, '/home/u/proj'],
      ['TMPDIR=/tmp is kept, fresh already', '/tmp', [], '/home/u/proj'],
      ['TMPDIR=/var/tmp is kept, fresh already', '/var/tmp', [], '/home/u/proj'],
      ['TMPDIR=/dev/shm is kept, fresh already', '/dev/shm', [], '/home/u/proj'],
      ['below /tmp (common in CI): a fresh directory', '/tmp/ci/tmp', [DIR('/tmp/ci/tmp')], '/home/u/proj'],
      ['below /tmp, spelled with a trailing slash and a dot', '/tmp/ci/./tmp/', [DIR('/tmp/ci/tmp')], '/home/u/proj'],
      ['below /var/tmp: a fresh directory', '/var/tmp/build', [DIR('/var/tmp/build')], '/home/u/proj'],
      ['where nothing is bound: a fresh directory', '/var/folders/xy/T', [DIR('/var/folders/xy/T')], '/home/u/proj'],
      ['one that only starts like /tmp: a fresh directory', '/tmpfiles', [DIR('/tmpfiles')], '/home/u/proj'],
      ['under $HOME: a fresh directory', '/home/u/tmp', [DIR('/home/u/tmp')], '/home/u/proj'],
      ['inside the project, existing: an empty tmpfs over it', '/home/u/proj/.tmp', [TMPFS('/home/u/proj/.tmp')], '/home/u/proj'],
      ['inside the project, missing: unset (it cannot be made in a read-only project)', '/home/u/proj/missing', undefined, '/home/u/proj'],
      ['inside the project, a symlink: unset', '/home/u/proj/tmp-link', undefined, '/home/u/proj'],
      ['the project itself: unset, never a tmpfs over the project', '/home/u/proj', undefined, '/home/u/proj'],
      ['above the project: unset, it would hold the project', '/home/u', undefined, '/home/u/proj'],
      ['inside the project\'s read-only node_modules: unset', '/home/u/proj/node_modules/.cache/tmp', undefined, '/home/u/proj'],
      ['inside the read-only /usr: unset', '/usr/tmp', undefined, '/home/u/proj'],
      ['inside /etc: unset', '/etc/tmp', undefined, '/home/u/proj'],
      ['through /bin, a symlink into /usr: unset', '/bin/tmp', undefined, '/home/u/proj'],
      ['under /proc: unset', '/proc/self', undefined, '/home/u/proj'],
      ['under /dev: unset', '/dev/tmp', undefined, '/home/u/proj'],
      ['relative: unset', 'tmp', undefined, '/home/u/proj'],
      ['relative with ./: unset', './.tmp', undefined, '/home/u/proj'],
      ['empty: unset', '', undefined, '/home/u/proj'],
      ['inside a project reached through a symlink, at the symlinked path', '/home/u/linked/.tmp', [TMPFS('/home/u/linked/.tmp')], '/home/u/linked'],
      ['inside a project reached through a symlink, at the real path', '/data/proj/.tmp', [TMPFS('/data/proj/.tmp')], '/home/u/linked'],
    ])('%s', (_name, tmpdir, added, projectDir) => {
      const env = { PATH: '/usr/bin', TMPDIR: tmpdir, HOME: '/somewhere/else' };
      const spec = defaultSpec(new FakeHost(HOST), facts({ env, projectDir }));
      if (added === undefined) expect(spec.env).not.toHaveProperty('TMPDIR');
      else expect(spec.env.TMPDIR).toBe(tmpdir);
      expect(spec.mounts.filter((op) => op.origin === 'default $TMPDIR')).toEqual(added ?? []);
      expect(spec.env.HOME).toBe('/home/u');
      expect(spec.env.PATH).toBe('/usr/bin');
      // The caller's environment is not touched.
      expect(env.TMPDIR).toBe(tmpdir);
      expect(env.HOME).toBe('/somewhere/else');
    });

    test('comes after every mount it lies in: /tmp, $HOME, the project', () => {
      for (const [tmpdir, holder] of [['/tmp/ci/tmp', 'tmpfs /tmp'], ['/home/u/tmp', 'dir /home/u'], ['/home/u/proj/.tmp', 'ro-bind /home/u/proj']]) {
        const mounts = briefs(new FakeHost(HOST), facts({ env: { TMPDIR: tmpdir } }));
        const own = mounts.findIndex((m) => m.endsWith(` ${tmpdir}`) && !m.startsWith('ro-bind'));
        expect([tmpdir, own > indexOf(mounts, holder)]).toEqual([tmpdir, true]);
      }
    });
  });
});

describe('isUnder', () => {
  test.each<[string, string, boolean]>([
    ['/usr', '/usr', true],
    ['/usr/lib', '/usr', true],
    ['/usr2', '/usr', false],
    ['/us', '/usr', false],
    ['/anything', '/', true],
    ['/', '/', true],
    ['/', '/usr', false],
  ])('%j under %j: %s', (child, parent, expected) => {
    expect(isUnder(child, parent)).toBe(expected);
  });
});

describe('isCovered', () => {
  const mounts: MountOp[] = [
    { type: 'ro-bind', source: '/usr', dest: '/usr', role: 'system' },
    { type: 'bind', source: '/data', dest: '/data', role: 'user' },
    { type: 'ro-bind', source: '/srv/real', dest: '/srv/alias', role: 'user' },
    { type: 'tmpfs', dest: '/tmp', role: 'tmp' },
    { type: 'dir', dest: '/home/u', role: 'home' },
    { type: 'symlink', dest: '/bin', target: 'usr/bin', role: 'system' },
  ];

  test.each<[string, boolean]>([
    ['/usr', true],
    ['/usr/lib/x86_64-linux-gnu/libc.so.6', true],
    ['/data/file', true],
    ['/usr2', false],
    ['/srv/alias/x', false], // not an identity bind
    ['/srv/real/x', false],
    ['/tmp/x', false],
    ['/home/u/x', false],
    ['/bin/sh', false],
    ['/', false],
  ])('%j: %s', (p, expected) => {
    expect(isCovered(mounts, p)).toBe(expected);
  });

  test('a bind of / covers everything', () => {
    expect(isCovered([{ type: 'ro-bind', source: '/', dest: '/', role: 'system' }], '/any/where')).toBe(true);
  });

  test('nothing is covered by no mounts', () => {
    expect(isCovered([], '/usr')).toBe(false);
  });
});

describe('visibilityMounts', () => {
  const host = new FakeHost({
    ...MERGED_USR,
    '/opt/tools/bin/tool': 'file',
    '/opt/tools/lib/x.js': 'file',
    '/opt/other/file.js': 'file',
    '/home/u/.local/bin/tool': '-> /opt/tools/bin/tool',
    '/srv/pkg/index.js': 'file',
    '/home/u/pkg': '-> /srv/pkg',
  });
  const base: MountOp[] = [{ type: 'ro-bind', source: '/usr', dest: '/usr', role: 'system' }];

  test.each<[string, string[], string[]]>([
    ['a covered path adds nothing', ['/usr/bin/env'], []],
    ['a path through a symlink into a covered path adds nothing', ['/bin/env'], []],
    ['a missing path is skipped', ['/nowhere/tool'], []],
    ['a directory is bound itself', ['/opt/tools'], ['ro-bind /opt/tools']],
    ['a file: its directory is bound', ['/opt/other/file.js'], ['ro-bind /opt/other']],
    ['a symlink to a file: the real file\'s directory', ['/home/u/.local/bin/tool'], ['ro-bind /opt/tools/bin']],
    ['a symlinked directory: its real path', ['/home/u/pkg'], ['ro-bind /srv/pkg']],
    ['a path under one added just before adds nothing', ['/opt/tools', '/opt/tools/lib/x.js'], ['ro-bind /opt/tools']],
    ['a parent after its child is still added', ['/opt/tools/lib/x.js', '/opt/tools'], ['ro-bind /opt/tools/lib', 'ro-bind /opt/tools']],
    ['the same path twice is bound once', ['/opt/other/file.js', '/opt/other/file.js'], ['ro-bind /opt/other']],
  ])('%s', (_name, paths, expected) => {
    const added = visibilityMounts(host, base, paths, 'test origin');
    expect(added.map(brief)).toEqual(expected);
    for (const op of added) expect([op.role, op.origin]).toEqual(['toolchain', 'test origin']);
  });

  test('does not modify the mounts it is given', () => {
    const mounts = [...base];
    visibilityMounts(host, mounts, ['/opt/tools'], 'x');
    expect(mounts).toEqual(base);
  });
});
