import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { outerUnshareFlags } from '../../src/host/host-support';
import { exitCodeOf, trampolineArgv, type LaunchRequest } from '../../src/host/launcher';
import type { Tools } from '../../src/shared/sandbox-protocol';
import type { IsolationMode, SandboxSpec, UidMode } from '../../src/shared/spec';

const TAIL = ['--propagation', 'unchanged', '--fork', '--kill-child'];

describe('outerUnshareFlags', () => {
  test.each<[IsolationMode, UidMode, { network: boolean; uts: boolean }, string[]]>([
    ['userns', 'same', { network: false, uts: false }, ['--user', '--map-current-user', '--keep-caps', '--mount', '--pid', '--ipc', ...TAIL]],
    ['userns', 'root', { network: false, uts: false }, ['--user', '--map-root-user', '--keep-caps', '--mount', '--pid', '--ipc', ...TAIL]],
    ['userns', 'same', { network: true, uts: false }, ['--user', '--map-current-user', '--keep-caps', '--mount', '--pid', '--ipc', '--net', ...TAIL]],
    ['userns', 'root', { network: false, uts: true }, ['--user', '--map-root-user', '--keep-caps', '--mount', '--pid', '--ipc', '--uts', ...TAIL]],
    ['userns', 'same', { network: true, uts: true }, ['--user', '--map-current-user', '--keep-caps', '--mount', '--pid', '--ipc', '--net', '--uts', ...TAIL]],
    // Without a user namespace there is nothing to map, whatever uid was asked for.
    ['root-no-userns', 'same', { network: false, uts: false }, ['--mount', '--pid', '--ipc', ...TAIL]],
    ['root-no-userns', 'root', { network: false, uts: false }, ['--mount', '--pid', '--ipc', ...TAIL]],
    ['root-no-userns', 'root', { network: true, uts: true }, ['--mount', '--pid', '--ipc', '--net', '--uts', ...TAIL]],
  ])('%s, uid %s, %j', (mode, uid, options, expected) => {
    expect(outerUnshareFlags(mode, uid, options)).toEqual(expected);
  });
});

const TOOLS: Tools = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', sh: '/bin/sh', env: '/usr/bin/env' };

function spec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return { rootSize: 1024 ** 3, processLimit: 1024, uid: 'same', network: 'host', mounts: [], cwd: '/', env: {}, ...overrides };
}

function request(overrides: Partial<LaunchRequest> = {}): LaunchRequest {
  return { spec: spec(), command: ['true'], mode: 'userns', tools: TOOLS, ...overrides };
}

describe('trampolineArgv', () => {
  const INIT = path.resolve(__dirname, '../../src/inside/init.js');

  test('without a channel: setpriv, then unshare, then node running the init', () => {
    expect(trampolineArgv(request())).toEqual([
      '/usr/bin/setpriv', '--pdeathsig', 'KILL', '--',
      '/usr/bin/unshare', '--user', '--map-current-user', '--keep-caps', '--mount', '--pid', '--ipc', ...TAIL, '--',
      process.execPath, INIT,
    ]);
  });

  test('with a channel: the same chain, and no Node IPC variables anywhere (the channel is a plain socket, not Node IPC)', () => {
    const argv = trampolineArgv(request({ channel: true }));
    expect(argv).toEqual(trampolineArgv(request()));
    expect(argv.join(' ')).not.toMatch(/NODE_CHANNEL/);
  });

  test.each<[string, Partial<LaunchRequest>]>([
    ['default', {}],
    ['channel', { channel: true }],
    ['root-no-userns', { mode: 'root-no-userns' }],
    ['uid root, no network, hostname', { spec: spec({ uid: 'root', network: 'none', hostname: 'box' }) }],
  ])('%s: starts with setpriv --pdeathsig KILL and ends with node and the init', (_name, overrides) => {
    const argv = trampolineArgv(request(overrides));
    expect(argv.slice(0, 5)).toEqual(['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', '/usr/bin/unshare']);
    expect(argv.slice(-2)).toEqual([process.execPath, INIT]);
  });

  test('the spec chooses the unshare flags', () => {
    const argv = trampolineArgv(request({ spec: spec({ uid: 'root', network: 'none', hostname: 'box' }) }));
    const unshare = argv.slice(argv.indexOf('/usr/bin/unshare') + 1, argv.lastIndexOf('--'));
    expect(unshare).toEqual(outerUnshareFlags('userns', 'root', { network: true, uts: true }));
  });

  test.each<[Partial<SandboxSpec>, boolean, boolean]>([
    [{ network: 'host' }, false, false],
    [{ network: 'none' }, true, false],
    [{ hostname: 'box' }, false, true],
  ])('spec %j: --net %s, --uts %s', (overrides, net, uts) => {
    const argv = trampolineArgv(request({ spec: spec(overrides) }));
    expect(argv.includes('--net')).toBe(net);
    expect(argv.includes('--uts')).toBe(uts);
  });

  test('root-no-userns has no user namespace flags', () => {
    const argv = trampolineArgv(request({ mode: 'root-no-userns', spec: spec({ uid: 'root' }) }));
    expect(argv).not.toContain('--user');
    expect(argv).not.toContain('--map-root-user');
  });
});

describe('exitCodeOf', () => {
  test.each<[number | null, NodeJS.Signals | null, number]>([
    [0, null, 0],
    [3, null, 3],
    [125, null, 125],
    [null, 'SIGKILL', 137],
    [null, 'SIGTERM', 143],
    [null, 'SIGINT', 130],
    [null, 'SIGSEGV', 128 + 11],
    // An exit code, when there is one, wins over the signal.
    [1, 'SIGTERM', 1],
  ])('code %s, signal %s -> %d', (code, signal, expected) => {
    expect(exitCodeOf(code, signal)).toBe(expected);
  });

  test('follows the platform signal numbers', () => {
    expect(exitCodeOf(null, 'SIGUSR1')).toBe(128 + osConstants.signals.SIGUSR1);
  });
});
