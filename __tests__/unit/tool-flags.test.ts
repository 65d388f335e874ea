import { outerUnshareFlags } from '../../src/host/host-support';
import { trampolineArgv } from '../../src/host/launcher';
import { oneNodeArgv } from '../../src/host/one-node-chain';
import type { Tools } from '../../src/shared/sandbox-protocol';
import { missingFlags, REQUIRED_FLAGS } from '../../src/host/tool-flags';

// The shape of util-linux's --help: short option, long option, an optional argument.
const UNSHARE_HELP = `
Options:
 -m, --mount[=<file>]      unshare mounts namespace
 -u, --uts[=<file>]        unshare UTS namespace (hostname etc)
 -i, --ipc[=<file>]        unshare System V IPC namespace
 -n, --net[=<file>]        unshare network namespace
 -p, --pid[=<file>]        unshare pid namespace
 -U, --user[=<file>]       unshare user namespace
 -f, --fork                fork before launching <program>
 -r, --map-root-user       map current user to root (implies --user)
 -c, --map-current-user    map current user to itself (implies --user)
 --kill-child[=<signame>]  when dying, kill the forked child (implies --fork)
 --propagation slave|shared|private|unchanged
 --keep-caps               retain capabilities granted in user namespaces
 --mount-proc[=<dir>]      mount proc filesystem first (implies --mount)
`;

describe('missingFlags', () => {
  test('a help text with every flag lacks none', () => {
    expect(missingFlags('unshare', UNSHARE_HELP)).toEqual([]);
  });

  test('names each flag the text does not list', () => {
    const old = UNSHARE_HELP.replace(/^.*--keep-caps.*$/m, '').replace(/^.*--map-current-user.*$/m, '');
    expect(missingFlags('unshare', old)).toEqual(['--map-current-user', '--keep-caps']);
  });

  test('a flag that is only part of a longer one, or only mentioned in prose, does not count', () => {
    const text = ' --forked     something\n -r, --map-root-user   map current user to root (implies --user)\n';
    expect(missingFlags('unshare', text)).toContain('--fork');
    expect(missingFlags('unshare', text)).toContain('--user');
    expect(missingFlags('unshare', text)).not.toContain('--map-root-user');
  });

  test('setpriv flags that take a value', () => {
    const text = ' --pdeathsig keep|clear|<signame>\n --bounding-set <caps>\n --inh-caps <caps,...>\n --ambient-caps <caps,...>\n';
    expect(missingFlags('setpriv', text)).toEqual([]);
    expect(missingFlags('setpriv', text.replace('--ambient-caps', '--other'))).toEqual(['--ambient-caps']);
  });
});

describe('REQUIRED_FLAGS', () => {
  const TOOLS: Tools = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', sh: '/bin/sh', env: '/usr/bin/env' };

  test('lists every flag the launcher passes to unshare and setpriv', () => {
    const used = new Set<string>();
    for (const mode of ['userns', 'root-no-userns'] as const) {
      for (const uid of ['same', 'root'] as const) {
        for (const flags of [outerUnshareFlags(mode, uid, { network: true, uts: true }), outerUnshareFlags(mode, uid, { network: false, uts: false })]) {
          for (const flag of flags) if (flag.startsWith('--')) used.add(flag.split('=')[0]);
        }
      }
    }
    const spec = { rootSize: 1, processLimit: 1, uid: 'same' as const, network: 'host' as const, mounts: [], cwd: '/', env: {} };
    const argv = trampolineArgv({ spec, command: ['true'], mode: 'userns', tools: TOOLS });
    const setprivFlags = argv.slice(1, argv.indexOf('--')).filter((a) => a.startsWith('--'));
    // The one-Node chain's two unshares, with every optional namespace.
    for (const uid of ['same', 'root'] as const) {
      const oneNode = oneNodeArgv({ spec: { ...spec, uid, network: 'none', hostname: 'box' }, command: ['node'], tools: TOOLS }, '/usr/bin/node');
      let at = -1;
      while ((at = oneNode.indexOf(TOOLS.unshare, at + 1)) !== -1) {
        for (const flag of oneNode.slice(at + 1, oneNode.indexOf('--', at))) if (flag.startsWith('--')) used.add(flag);
      }
      setprivFlags.push(...oneNode.slice(1, oneNode.indexOf('--')).filter((a) => a.startsWith('--')));
    }
    expect(used).toContain('--mount-proc');
    expect([...used].filter((flag) => !(REQUIRED_FLAGS.unshare as readonly string[]).includes(flag))).toEqual([]);
    expect(setprivFlags.filter((flag) => !(REQUIRED_FLAGS.setpriv as readonly string[]).includes(flag))).toEqual([]);
  });
});
