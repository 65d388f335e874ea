// The one-Node chain: when the command is Node itself, it is the only Node
// process of the sandbox. It is born in the namespaces, builds its root with
// a preload (inside/one-node.js) before anything of the command runs, and
// locks itself down with a seccomp filter. This module decides when that
// chain applies and builds its argv; launcher.ts runs it.
//
//   setpriv --pdeathsig KILL                dies with the launcher
//    └ unshare --user --pid --mount-proc --fork --kill-child
//       └ [pid 1] sh                        randomises the pids, then reaps and passes the exit status
//          └ unshare --user --mount --ipc [--net] [--uts]
//             └ setpriv                     without setfcap and dac_read_search
//                └ node --require one-node.js  builds the root, locks down, runs the command
//
// Why two user namespaces, when the mounts are no longer locked by the
// second one: Node's platform threads exist before any of our code runs and
// keep the capabilities the process was born with. In a single user
// namespace they would hold every capability over pid 1, which has no
// filter, and could ptrace it or write its /proc/1/mem into making mounts
// for them. One namespace below, their capabilities cover only the test's
// own mount, IPC, network and UTS namespaces, and pid 1 (in the namespace
// above) is out of reach of everything in the sandbox: ptrace, /proc/1/mem,
// its descriptors, its root and cwd all need CAP_SYS_PTRACE up there.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { LaunchRequest } from './launcher';
import type { SandboxChain } from '../shared/sandbox-protocol';

/** bench/ turns the lever off with MOUNT_SANDBOX_ONE_NODE=0, to measure what it saves. */
export const ONE_NODE_SWITCH = 'MOUNT_SANDBOX_ONE_NODE';

export const ONE_NODE_PRELOAD = path.join(__dirname, '..', 'inside', 'one-node.js');

/**
 * Node options that would run code, start threads or write files before
 * the preload has built the sandbox, or that make Node skip preloads. Such a
 * command runs in the init chain, where Node starts inside a finished sandbox.
 */
const EARLY_OPTIONS = new Set([
  '-v', '--version', '-h', '--help', '--v8-options', '--completion-bash', '--run',
  '--loader', '--experimental-loader', '--build-snapshot', '--snapshot-blob', '--experimental-sea-config',
  '--prof', '--logfile', '--trace-events-enabled', '--trace-event-categories', '--watch', '--watch-path', '--watch-preserve-output',
]);

/** NODE_OPTIONS are read before the command line: a preload there would run before ours, outside the sandbox. */
const EARLY_IN_NODE_OPTIONS = new Set([...EARLY_OPTIONS, '-r', '--require']);

function optionName(arg: string): string {
  const eq = arg.indexOf('=');
  return eq === -1 ? arg : arg.slice(0, eq);
}

/** The first early option among the command's own Node options (those before its script or code). */
function earlyOption(args: readonly string[], early: ReadonlySet<string>): string | undefined {
  for (const arg of args) {
    if (arg === '--' || !arg.startsWith('-')) return undefined;
    if (early.has(optionName(arg))) return arg;
  }
  return undefined;
}

function resolveOnPath(name: string, searchPath: string, cwd: string): string | undefined {
  if (name.includes('/')) return path.resolve(cwd, name);
  for (const dir of searchPath.split(':')) {
    if (dir === '') continue;
    const candidate = path.resolve(cwd, dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

function realpath(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Variables that act when a process starts, before the preload has built
 * the sandbox: the dynamic loader's (LD_PRELOAD, LD_AUDIT, LD_DEBUG_OUTPUT,
 * ...), glibc's, Node's (NODE_OPTIONS, NODE_EXTRA_CA_CERTS, ...) and
 * OpenSSL's (a provider module named in OPENSSL_CONF). A sandbox whose
 * environment changes one of them from Jest's own gets the init chain, where
 * every process of the command starts inside the finished sandbox.
 */
const ACTS_AT_START = /^(LD_|NODE_|OPENSSL_|SSL_CERT_|MALLOC_)|^(GLIBC_TUNABLES|GCONV_PATH|ICU_DATA)$/;

/** ICU takes the default locale from these when Node starts; a plain locale name is data, never a path. */
const LOCALE_AT_START = new Set(['LANG', 'LC_ALL', 'LC_MESSAGES']);
const LOCALE_NAME = /^[A-Za-z0-9_.@-]+$/;

/**
 * The environment the one-Node chain starts with: setpriv and the outer
 * unshare run on the host, and Node starts with capabilities over its
 * namespaces and the host's mounts still in place. So only what is trusted
 * reaches them: the variables the sandbox's environment takes unchanged from
 * Jest's own (Jest itself runs with them), and a plain locale name. What a
 * docblock, the config or --setenv sets is the command's, and the preload
 * puts the whole environment in place once the sandbox is locked down.
 */
export function startEnvironment(specEnv: Readonly<Record<string, string>>, jestEnv: NodeJS.ProcessEnv): Record<string, string> {
  const start: Record<string, string> = {};
  for (const [name, value] of Object.entries(specEnv)) {
    if (jestEnv[name] === value || (LOCALE_AT_START.has(name) && LOCALE_NAME.test(value))) start[name] = value;
  }
  return start;
}

/** The first variable that would act at Node's start and that the sandbox's environment sets to something other than Jest's own. */
function changedAtStart(specEnv: Readonly<Record<string, string>>, jestEnv: NodeJS.ProcessEnv): string | undefined {
  const start = startEnvironment(specEnv, jestEnv);
  return Object.keys(specEnv).find((name) => ACTS_AT_START.test(name) && !(name in start));
}

export type ChainChoice = { chain: 'one-node'; node: string } | { chain: Exclude<SandboxChain, 'one-node'>; why: string };

/**
 * The one-Node chain needs: the switch not off, a user namespace, a command
 * that is this very Node binary (not a wrapper script such as nvm's or
 * volta's), no option that acts before the preload, and a cwd that exists on
 * the host too (Node resolves a relative script against it at its start,
 * before the sandbox exists).
 */
export function chooseChain(request: Pick<LaunchRequest, 'command' | 'mode' | 'spec'>, env: NodeJS.ProcessEnv = process.env, execPath = process.execPath): ChainChoice {
  if (env[ONE_NODE_SWITCH] === '0') return { chain: 'init', why: `${ONE_NODE_SWITCH}=0` };
  if (request.mode !== 'userns') return { chain: 'init', why: 'no user namespace (real root): the mount lock must be the kernel\'s' };
  const [program, ...args] = request.command;
  if (program === undefined) return { chain: 'init', why: 'no command' };
  const { spec } = request;
  const cwdOnHost = fs.statSync(spec.cwd, { throwIfNoEntry: false })?.isDirectory() === true;
  const found = resolveOnPath(program, spec.env.PATH ?? '', cwdOnHost ? spec.cwd : '/');
  const node = found === undefined ? undefined : realpath(found);
  if (node === undefined || node !== realpath(execPath)) return { chain: 'init', why: `${program} is not ${execPath}` };
  const early = earlyOption(args, EARLY_OPTIONS);
  if (early !== undefined) return { chain: 'init', why: `node ${early} acts before a preload could build the sandbox` };
  const changed = changedAtStart(spec.env, env);
  if (changed !== undefined) return { chain: 'init', why: `the sandbox's environment sets ${changed}, which would act at Node's start, before the sandbox is built` };
  const nodeOptions = (spec.env.NODE_OPTIONS ?? '').split(/\s+/).filter((word) => word !== '');
  const earlyInEnv = nodeOptions.find((word) => EARLY_IN_NODE_OPTIONS.has(optionName(word)));
  if (earlyInEnv !== undefined) return { chain: 'init', why: `NODE_OPTIONS has ${earlyInEnv}, which would run before the sandbox is built` };
  if (!cwdOnHost) return { chain: 'init', why: `the cwd ${spec.cwd} does not exist on the host` };
  return { chain: 'one-node', node: found as string };
}

/** The namespaces of the inner unshare: everything the test's own Node must own, to set it up. */
function innerUnshareFlags(request: Pick<LaunchRequest, 'spec'>): string[] {
  const { spec } = request;
  return [
    '--user', '--map-current-user', '--keep-caps', '--mount', '--ipc',
    ...(spec.hostname !== undefined ? ['--uts'] : []),
    '--propagation', 'unchanged',
  ];
}

/**
 * pid 1's script: one write, then the reaper. The write starts the pids at a
 * random point (only the pid namespace's owner may, and that is pid 1's user
 * namespace, not the test's): tools that name temporary files after their
 * pid (write-file-atomic, in Jest's transform cache) would otherwise collide
 * between sandboxes that share a folder, since the test's Node would be pid 2
 * in every one. Then `sh` stays pid 1: it reaps orphans, and a command killed
 * by signal N leaves it with 128+N.
 */
const PID1_SCRIPT = '{ printf %s "$1" >/proc/sys/kernel/ns_last_pid; } 2>/dev/null; shift; "$@"; exit $?';

/**
 * The only capabilities the test's Node is born with: what building the
 * sandbox needs. Node's platform threads exist before any JavaScript runs,
 * and keep what the process was born with after the main thread drops its
 * own; test code can run on them (a signal handler it installs runs on the
 * thread a tgkill aims at, and a fork there starts a process with them). So
 * they get nothing the setup does not use: the mounts and the hostname
 * (sys_admin), overlayfs's copy-up, which uses the credentials of whoever
 * mounted it (chown, fowner, fsetid, dac_override), the loopback (net_admin,
 * in a network namespace the platform threads are not in: see enterSandbox),
 * a user namespace sysctl (sys_resource) and the lock-down's bounding-set
 * drop (setpcap). Not setfcap (a file capability on the host), not
 * dac_read_search (a file by a forged handle), nor ptrace, kill, setuid,
 * net_raw and the rest. Kept in the bounding, inheritable and ambient sets
 * alone, so that a uid other than 0 inside, which keeps capabilities across
 * exec only as ambient ones, has exactly these.
 */
export const SETUP_CAPABILITIES = ['sys_admin', 'chown', 'fowner', 'fsetid', 'dac_override', 'net_admin', 'sys_resource', 'setpcap'] as const;

function withSetupCapabilitiesOnly(tools: Pick<LaunchRequest['tools'], 'setpriv'>): string[] {
  const only = ['-all', ...SETUP_CAPABILITIES.map((cap) => `+${cap}`)].join(',');
  return [tools.setpriv, `--bounding-set=${only}`, `--inh-caps=${only}`, `--ambient-caps=${only}`, '--'];
}

export function oneNodeArgv(request: Pick<LaunchRequest, 'tools' | 'spec' | 'command'>, node: string, randomPid = crypto.randomInt(1000, 60000)): string[] {
  const { tools, spec } = request;
  const outer = [
    tools.unshare, '--user', spec.uid === 'root' ? '--map-root-user' : '--map-current-user', '--keep-caps',
    '--mount', '--pid', ...(spec.network === 'none' ? ['--net'] : []), '--fork', '--kill-child', '--mount-proc', '--propagation', 'unchanged', '--',
  ];
  const pid1 = [tools.sh, '-c', PID1_SCRIPT, 'mount-sandbox', String(randomPid)];
  const [, ...args] = request.command;
  return [
    tools.setpriv, '--pdeathsig', 'KILL', '--', ...outer, ...pid1,
    tools.unshare, ...innerUnshareFlags(request), '--', ...withSetupCapabilitiesOnly(tools), node, '--require', ONE_NODE_PRELOAD, ...args,
  ];
}
