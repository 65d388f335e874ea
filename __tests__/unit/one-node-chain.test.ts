// When a command gets the one-Node chain, and the argv of that chain.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseChain, ONE_NODE_PRELOAD, oneNodeArgv, startEnvironment } from '../../src/host/one-node-chain';
import type { Tools } from '../../src/shared/sandbox-protocol';
import type { SandboxSpec } from '../../src/shared/spec';

const TOOLS: Tools = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', sh: '/bin/sh', env: '/usr/bin/env' };
const NODE = fs.realpathSync(process.execPath);

function spec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return { rootSize: 1024 ** 3, processLimit: 1024, uid: 'same', network: 'host', mounts: [], cwd: os.tmpdir(), env: { PATH: path.dirname(NODE) }, ...overrides };
}

function choose(command: string[], overrides: Partial<SandboxSpec> = {}, env: NodeJS.ProcessEnv = {}) {
  return chooseChain({ command, mode: 'userns', spec: spec(overrides) }, env, NODE);
}

describe('startEnvironment: what the trampoline and Node see before the sandbox exists', () => {
  const jest = { PATH: '/usr/bin:/bin', HOME: '/root', NODE_OPTIONS: '--max-old-space-size=100', LANG: 'C.UTF-8', SECRET: 's' };

  test('only what the sandbox takes unchanged from Jest\'s own environment', () => {
    const sandboxEnv = { PATH: '/usr/bin:/bin', HOME: '/sandbox/home', NODE_OPTIONS: '--max-old-space-size=100', FROM_DOCBLOCK: 'x', LD_PRELOAD: '/project/evil.so' };
    expect(startEnvironment(sandboxEnv, jest)).toEqual({ PATH: '/usr/bin:/bin', NODE_OPTIONS: '--max-old-space-size=100' });
  });

  test('what the sandbox unset (envMode clean, a null) stays unset', () => {
    expect(startEnvironment({ PATH: '/usr/bin:/bin' }, jest)).toEqual({ PATH: '/usr/bin:/bin' });
  });

  test('a locale the options set, which ICU reads at Node\'s start, when it is a plain name, never a path', () => {
    expect(startEnvironment({ LANG: 'de_DE.UTF-8', LC_ALL: 'fr_FR.UTF-8@euro', LC_MESSAGES: 'C' }, jest)).toEqual({ LANG: 'de_DE.UTF-8', LC_ALL: 'fr_FR.UTF-8@euro', LC_MESSAGES: 'C' });
    expect(startEnvironment({ LANG: '/project/evil-locale', LC_ALL: '../x', LC_CTYPE: 'de_DE.UTF-8' }, jest)).toEqual({});
  });
});

describe('chooseChain', () => {
  test.each([
    [[NODE, '/abs/child.js']],
    [[NODE, '--expose-gc', '--max-old-space-size=4096', '/abs/child.js']],
    [['node', '-e', '0']],
    [[path.basename(NODE), '-p', '1 + 1']],
    [[NODE]],
    [[NODE, '--require', './later.js', 'script.js']],
    [[NODE, 'script.js', '--version']],
  ])('%j: one Node process', (command) => {
    expect(choose(command.map((word) => (word === 'node' ? path.basename(NODE) : word)))).toEqual({ chain: 'one-node', node: expect.any(String) });
  });

  test.each([
    ['--version'], ['-v'], ['--help'], ['--v8-options'], ['--run=test'], ['--loader=./hooks.mjs'], ['--experimental-loader'], ['--prof'],
    ['--build-snapshot'], ['--snapshot-blob=x.blob'], ['--watch'], ['--trace-events-enabled'],
  ])('node %s acts before a preload could: the init chain', (option) => {
    const choice = choose([NODE, option, 'script.js']);
    expect(choice.chain).toBe('init');
    expect(choice).toEqual({ chain: 'init', why: expect.stringContaining(option) });
  });

  test.each([['--require ./setup.js'], ['-r ./setup.js'], ['--require=./setup.js'], ['--max-old-space-size=100 --loader ./x.mjs']])(
    'NODE_OPTIONS=%s, even Jest\'s own, would run before the sandbox exists: the init chain', (nodeOptions) => {
      const env = { PATH: path.dirname(NODE), NODE_OPTIONS: nodeOptions };
      expect(choose([NODE, 'script.js'], { env }, env)).toEqual({ chain: 'init', why: expect.stringContaining('NODE_OPTIONS has') });
    },
  );

  test('Jest\'s own NODE_OPTIONS with only flags, or an --import (run after every --require), keeps one Node process', () => {
    const env = { PATH: path.dirname(NODE), NODE_OPTIONS: '--max-old-space-size=100 --import ./x.mjs' };
    expect(choose([NODE, 'script.js'], { env }, env).chain).toBe('one-node');
  });

  test.each([
    ['LD_PRELOAD', '/project/evil.so'], ['LD_DEBUG_OUTPUT', 'pwned'], ['LD_AUDIT', 'x.so'], ['NODE_OPTIONS', '--openssl-config=x.cnf'],
    ['NODE_EXTRA_CA_CERTS', '/project/ca.pem'], ['OPENSSL_CONF', '/project/evil.cnf'], ['GLIBC_TUNABLES', 'glibc.malloc.check=3'], ['GCONV_PATH', '/project'],
  ])('%s set by the options (a docblock, the config, --setenv) would act at Node\'s start, outside the finished sandbox: the init chain', (name, value) => {
    expect(choose([NODE, 'script.js'], { env: { PATH: path.dirname(NODE), [name]: value } }, { PATH: path.dirname(NODE) }))
      .toEqual({ chain: 'init', why: `the sandbox's environment sets ${name}, which would act at Node's start, before the sandbox is built` });
    // The same value Jest itself runs with is trusted: Jest runs with it.
    expect(choose([NODE, 'script.js'], { env: { PATH: path.dirname(NODE), [name]: value } }, { PATH: path.dirname(NODE), [name]: value })).toEqual({ chain: 'one-node', node: expect.any(String) });
  });

  test('a variable that acts only once the test reads it keeps one Node process', () => {
    expect(choose([NODE, 'script.js'], { env: { PATH: path.dirname(NODE), FEATURE_FLAG: 'on', TZ: '/project/tzfile' } }, { PATH: path.dirname(NODE) }).chain).toBe('one-node');
  });

  test('another program, or a node that is not this very binary (a wrapper script), gets the init chain', () => {
    expect(choose(['sh', '-c', 'node x.js'], { env: { PATH: '/usr/bin:/bin' } }).chain).toBe('init');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'one-node-chain-'));
    try {
      fs.writeFileSync(path.join(dir, 'node'), '#!/bin/sh\nexec node "$@"\n', { mode: 0o755 });
      expect(choose(['node', 'x.js'], { env: { PATH: dir } })).toEqual({ chain: 'init', why: `node is not ${NODE}` });
      // A symlink to the same binary is the same binary.
      fs.rmSync(path.join(dir, 'node'));
      fs.symlinkSync(NODE, path.join(dir, 'node'));
      expect(choose(['node', 'x.js'], { env: { PATH: dir } }).chain).toBe('one-node');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('MOUNT_SANDBOX_ONE_NODE=0, no user namespace, or a cwd that exists only inside: the init chain', () => {
    expect(choose([NODE, 'x.js'], {}, { MOUNT_SANDBOX_ONE_NODE: '0' })).toEqual({ chain: 'init', why: 'MOUNT_SANDBOX_ONE_NODE=0' });
    expect(chooseChain({ command: [NODE, 'x.js'], mode: 'root-no-userns', spec: spec() }, {}, NODE).chain).toBe('init');
    expect(choose([NODE, 'x.js'], { cwd: '/no/such/dir/inside/only' }).chain).toBe('init');
    expect(choose([NODE, 'x.js'], {}, { MOUNT_SANDBOX_ONE_NODE: '1' }).chain).toBe('one-node');
  });
});

describe('oneNodeArgv', () => {
  const argv = (overrides: Partial<SandboxSpec> = {}, command = [NODE, '--expose-gc', '/abs/child.js']) => oneNodeArgv({ spec: spec(overrides), command, tools: TOOLS }, NODE, 4242);

  test('setpriv, the outer unshare (user, pid, its procfs), sh as pid 1, the inner unshare, setpriv with only the setup\'s capabilities, then node with the preload first', () => {
    const drop = '-all,+sys_admin,+chown,+fowner,+fsetid,+dac_override,+net_admin,+sys_resource,+setpcap';
    expect(argv()).toEqual([
      '/usr/bin/setpriv', '--pdeathsig', 'KILL', '--',
      '/usr/bin/unshare', '--user', '--map-current-user', '--keep-caps', '--mount', '--pid', '--fork', '--kill-child', '--mount-proc', '--propagation', 'unchanged', '--',
      '/bin/sh', '-c', expect.stringContaining('ns_last_pid'), 'mount-sandbox', '4242',
      '/usr/bin/unshare', '--user', '--map-current-user', '--keep-caps', '--mount', '--ipc', '--propagation', 'unchanged', '--',
      '/usr/bin/setpriv', `--bounding-set=${drop}`, `--inh-caps=${drop}`, `--ambient-caps=${drop}`, '--',
      NODE, '--require', ONE_NODE_PRELOAD, '--expose-gc', '/abs/child.js',
    ]);
  });

  test('uid root maps root in the outer namespace; the inner one maps that uid to itself', () => {
    const words = argv({ uid: 'root' });
    const inner = words.lastIndexOf('/usr/bin/unshare');
    expect(words.slice(0, inner)).toContain('--map-root-user');
    expect(words.slice(inner)).toContain('--map-current-user');
    expect(words.slice(inner)).not.toContain('--map-root-user');
  });

  test('a hostname: the inner unshare, which the test\'s Node owns, makes the UTS namespace; no network: the outer one, pid 1\'s, whose user namespace Node holds nothing in', () => {
    const words = argv({ network: 'none', hostname: 'box' });
    const inner = words.lastIndexOf('/usr/bin/unshare');
    expect(words.slice(inner, words.indexOf('--', inner))).toEqual(expect.arrayContaining(['--uts', '--ipc', '--mount', '--user']));
    expect(words.slice(inner, words.indexOf('--', inner))).not.toContain('--net');
    // Node's main thread makes its own network namespace there (enterSandbox); its platform threads stay in this empty one.
    expect(words.slice(0, inner).filter((w) => ['--net', '--uts', '--ipc'].includes(w))).toEqual(['--net']);
  });

  test('pid 1\'s script writes ns_last_pid, then runs the rest and passes its status', () => {
    const script = argv()[argv().indexOf('-c') + 1];
    expect(script).toMatch(/ns_last_pid/);
    expect(script).toMatch(/"\$@"; exit \$\?$/);
  });
});
