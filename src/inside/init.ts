// The first code inside the new namespaces (pid 1 until it execs). It builds
// the root, then execs the command through a nested user namespace, so that
// every mount it made is locked and cannot be remounted or unmounted from
// inside, whatever capabilities the command later holds.
import fs from 'node:fs';
import { isSandboxError, SandboxError, toWire } from '../shared/errors';
import type * as Syscalls from '../native/syscalls';
import {
  CHANNEL_FD, INIT_CONFIG_VAR, SANDBOX_MARKER_VAR, SETUP_FAILED_EXIT, STATUS_FD,
  type InitConfig, type OverlayMethods, type SandboxMarker, type StatusMessage,
} from '../shared/sandbox-protocol';
import type * as HostTies from './host-ties';
import type * as Setup from './setup';

type Sys = typeof Syscalls;

const initStartedAt = performance.timeOrigin;

function report(message: StatusMessage): void {
  try {
    fs.writeSync(STATUS_FD, `${JSON.stringify(message)}\n`);
  } catch {
    // The launcher is gone; the parent-death signal is about to end us anyway.
  }
}

/**
 * The exec chain after setup. `sh` stays as pid 1: it reaps orphans, and a
 * command killed by signal N leaves it with 128+N (pid 1 itself could not be
 * killed by its own signals). Capabilities are dropped before anything of the
 * user's runs when the command would otherwise be uid 0 with full caps.
 */
export function commandArgv(config: InitConfig): string[] {
  const { tools, command } = config;
  const shell = [tools.sh, '-c', '"$@"; exit $?', 'mount-sandbox', ...command];
  const dropCaps = [tools.setpriv, '--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all', '--'];
  const rootInside = config.spec.uid === 'root' || config.hostUid === 0;
  if (config.mode === 'root-no-userns') return [...dropCaps, ...shell];
  const nested = [tools.unshare, '--user', '--map-current-user', '--mount', '--propagation', 'unchanged', '--'];
  return [...nested, ...(rootInside ? dropCaps : []), ...shell];
}

function commandEnv(config: InitConfig, overlays: OverlayMethods): string[] {
  const { spec, mode } = config;
  const marker: SandboxMarker = {
    mode, uid: spec.uid, network: spec.network, rootSize: spec.rootSize,
    processLimit: { kind: config.processLimit.kind, max: config.processLimit.max }, mounts: spec.mounts, cwd: spec.cwd, overlays,
    ...(spec.hostname !== undefined ? { hostname: spec.hostname } : {}),
  };
  const env: Record<string, string> = { ...spec.env, [SANDBOX_MARKER_VAR]: JSON.stringify(marker) };
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

/** Only stdio and the runner's channel reach the command; every other descriptor closes on exec. */
function prepareDescriptors(sys: Sys, keep: readonly number[]): void {
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    try {
      if (keep.includes(fd)) sys.keepAcrossExec(fd);
      else sys.closeOnExec(fd);
    } catch (error) {
      // The directory handle used for the listing is already closed.
      if (!(sys.isSyscallError(error) && error.code === 'EBADF')) throw error;
    }
  }
  for (const fd of [0, 1, 2]) {
    try {
      sys.makeBlocking(fd);
    } catch {
      // A closed stdio descriptor stays closed.
    }
  }
}

/**
 * A SandboxError says what it is. A failed system call outside the
 * interpreter (sethostname, setsid, …) is a setup failure the host caused.
 * Anything else is a bug of ours, and says so.
 */
function classify(sys: Sys, error: unknown): SandboxError {
  if (isSandboxError(error)) return error;
  if (sys.isSyscallError(error)) return new SandboxError('setup', error.message, { syscall: error.syscall, errno: error.code });
  const stack = error instanceof Error && error.stack ? ` (${error.stack.split('\n').slice(1, 3).map((l) => l.trim()).join('; ')})` : '';
  return new SandboxError('internal', `the sandbox init failed: ${error instanceof Error ? error.message : String(error)}${stack}`);
}

function main(): void {
  const raw = process.env[INIT_CONFIG_VAR];
  if (raw === undefined) {
    process.stderr.write('mount-sandbox: the sandbox init must be started by the launcher\n');
    process.exit(SETUP_FAILED_EXIT);
  }
  report({ type: 'started' });
  // koffi is loaded here, not by an import, so that a failure to load it is reported as what it is.
  let sys: Sys;
  let buildRoot: typeof Setup.buildRoot;
  let ties: typeof HostTies;
  try {
    sys = require('../native/syscalls') as Sys;
    ({ buildRoot } = require('./setup') as typeof Setup);
    ties = require('./host-ties') as typeof HostTies;
  } catch (error) {
    report({ type: 'error', ...toWire(new SandboxError('host', `the sandbox init cannot load koffi, which makes its mount syscalls: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'reinstall the dependencies (npm ci): koffi ships prebuilt binaries for Linux x64 and arm64; `npx mount-sandbox doctor` checks the rest',
    })) });
    process.exitCode = SETUP_FAILED_EXIT;
    return;
  }
  const config = JSON.parse(raw) as InitConfig;
  const { spec } = config;
  try {
    // First, while the host's /sys is still in view: every process of the sandbox descends from this one.
    if (config.processLimit.cgroupProcs !== undefined) fs.writeFileSync(config.processLimit.cgroupProcs, '0\n');
    // While /proc/sys is writable: the new /proc's turns read-only in buildRoot.
    ties.forbidCgroupNamespaces(config.mode);
    const mountStart = performance.now();
    const { overlays, steps } = buildRoot(spec);
    const mountMs = performance.now() - mountStart;
    if (spec.network === 'none') sys.bringUpLoopback();
    if (spec.hostname !== undefined) sys.sethostname(spec.hostname);
    try {
      process.chdir(spec.cwd);
    } catch {
      throw new SandboxError('setup', `cwd ${spec.cwd} does not exist inside the sandbox`, { path: spec.cwd, hint: 'bind it, or pick another --cwd' });
    }
    // Its own session: no controlling terminal, so TIOCSTI cannot type into the host's shell.
    sys.setsid();
    // Unless the launcher made a fresh pty for an interactive command: the host's terminal still never comes in.
    if (config.controllingTerminal) sys.setControllingTerminal(0);
    sys.setNoNewPrivs();
    ties.leaveHostSessionKeyring();
    // Set before the nested user namespace exists: it takes this limit as its own.
    if (config.processLimit.kind === 'rlimit') sys.limitProcesses(spec.processLimit);
    if (fs.existsSync('/proc/self/fd')) prepareDescriptors(sys, config.channel ? [0, 1, 2, CHANNEL_FD] : [0, 1, 2]);
    const argv = commandArgv(config);
    report({ type: 'ready', overlays, steps, timings: { initStartedAt, mountMs, execAt: performance.timeOrigin + performance.now() } });
    sys.execve(argv[0], argv, commandEnv(config, overlays));
  } catch (error) {
    report({ type: 'error', ...toWire(classify(sys, error)) });
    process.exitCode = SETUP_FAILED_EXIT;
  }
}

main();
