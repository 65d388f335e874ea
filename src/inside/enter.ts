// What both chains do inside the fresh namespaces before the command's own
// code may run: join the process limit's cgroup, build the root with the
// interpreter, cut the ties to the host that namespaces leave in place, and
// report to the launcher on the status pipe. The init (init.ts) then execs
// the command; the one-Node chain (one-node.ts) locks itself down and goes on
// as the command.
import fs from 'node:fs';
import { isSandboxError, SandboxError, toWire } from '../shared/errors';
import type * as Syscalls from '../native/syscalls';
import {
  CHANNEL_FD, INIT_CONFIG_VAR, SANDBOX_MARKER_VAR, SETUP_FAILED_EXIT, STATUS_FD,
  type InitConfig, type OverlayMethods, type SandboxMarker, type StatusMessage,
} from '../shared/sandbox-protocol';
import type * as HostTies from './host-ties';
import type * as Setup from './setup';

export type Sys = typeof Syscalls;

export interface Native {
  sys: Sys;
  buildRoot: typeof Setup.buildRoot;
  ties: typeof HostTies;
}

export function report(message: StatusMessage): void {
  try {
    fs.writeSync(STATUS_FD, `${JSON.stringify(message)}\n`);
  } catch {
    // The launcher is gone; the parent-death signal is about to end us anyway.
  }
}

/** The config the launcher put in the environment, or undefined when started by anything else. */
export function readConfig(): InitConfig | undefined {
  const raw = process.env[INIT_CONFIG_VAR];
  return raw === undefined ? undefined : (JSON.parse(raw) as InitConfig);
}

/** koffi is loaded here, not by an import, so that a failure to load it is reported as what it is. */
export function loadNative(): Native | undefined {
  try {
    return {
      sys: require('../native/syscalls') as Sys,
      buildRoot: (require('./setup') as typeof Setup).buildRoot,
      ties: require('./host-ties') as typeof HostTies,
    };
  } catch (error) {
    report({ type: 'error', ...toWire(new SandboxError('host', `the sandbox init cannot load koffi, which makes its mount syscalls: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'reinstall the dependencies (npm ci): koffi ships prebuilt binaries for Linux x64 and arm64; `npx mount-sandbox doctor` checks the rest',
    })) });
    process.exitCode = SETUP_FAILED_EXIT;
    return undefined;
  }
}

/**
 * A SandboxError says what it is. A failed system call outside the
 * interpreter (sethostname, setsid, …) is a setup failure the host caused.
 * Anything else is a bug of ours, and says so.
 */
export function classify(sys: Sys, error: unknown): SandboxError {
  if (isSandboxError(error)) return error;
  if (sys.isSyscallError(error)) return new SandboxError('setup', error.message, { syscall: error.syscall, errno: error.code });
  const stack = error instanceof Error && error.stack ? ` (${error.stack.split('\n').slice(1, 3).map((l) => l.trim()).join('; ')})` : '';
  return new SandboxError('internal', `the sandbox init failed: ${error instanceof Error ? error.message : String(error)}${stack}`);
}

export interface Entered {
  overlays: OverlayMethods;
  steps: Array<[string, number]>;
  mountMs: number;
}

/** Builds the sandbox around this process; throws what `classify` turns into the status pipe's error. */
export function enterSandbox({ sys, buildRoot, ties }: Native, config: InitConfig, pinned: readonly string[]): Entered {
  const { spec } = config;
  // First, while the host's /sys is still in view: every process of the command descends from this one
  // (in the one-Node chain pid 1, sh, stays outside the cgroup: it runs nothing but the wait).
  if (config.processLimit.cgroupProcs !== undefined) fs.writeFileSync(config.processLimit.cgroupProcs, '0\n');
  // While /proc/sys is writable: the new /proc's turns read-only in buildRoot.
  ties.forbidCgroupNamespaces(config.mode);
  const mountStart = performance.now();
  const { overlays, steps } = buildRoot(spec, { proc: config.chain === 'one-node' ? 'inherited' : 'mount', pinned });
  const mountMs = performance.now() - mountStart;
  if (spec.network === 'none') {
    // One-Node chain: Node's platform threads exist already and keep every capability the process was
    // born with, and test code can run on them (a signal handler aimed at one). They stay in the empty
    // network namespace pid 1's user namespace owns, where they hold nothing; the main thread, and so
    // every thread and process made later, moves to a new one of its own.
    if (config.chain === 'one-node') sys.unshareNetwork();
    sys.bringUpLoopback();
  }
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
  // In the init chain, set before the nested user namespace exists: it takes this limit as its own.
  if (config.processLimit.kind === 'rlimit') sys.limitProcesses(spec.processLimit);
  return { overlays, steps, mountMs };
}

/** The descriptors the command keeps: stdio and the runner's channel. */
export function keptDescriptors(config: InitConfig): number[] {
  return [0, 1, 2, ...(config.channel ? [CHANNEL_FD] : [])];
}

/** Only the kept descriptors reach the command; every other one closes on exec. */
export function prepareDescriptors(sys: Sys, keep: readonly number[], keepFlags: boolean): void {
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    try {
      if (!keep.includes(fd)) sys.closeOnExec(fd);
      else if (!keepFlags) sys.keepAcrossExec(fd);
    } catch (error) {
      // The directory handle used for the listing is already closed.
      if (!(sys.isSyscallError(error) && error.code === 'EBADF')) throw error;
    }
  }
}

/**
 * The one-Node chain's counterpart of prepareDescriptors: this process is
 * the command, so what it inherited from the launcher (and the launcher from
 * whatever started Jest) must be closed, not merely marked. An inherited
 * descriptor is one that survived exec, so it lacks FD_CLOEXEC; Node and
 * libuv open every one of their own with it, and those stay.
 */
export function closeInheritedDescriptors(sys: Sys, keep: readonly number[]): void {
  const listed = fs.readdirSync('/proc/self/fd').map(Number);
  for (const fd of listed) {
    if (keep.includes(fd)) continue;
    try {
      if (!sys.isCloseOnExec(fd)) sys.close(fd);
    } catch (error) {
      // The directory handle used for the listing is already closed.
      if (!(sys.isSyscallError(error) && error.code === 'EBADF')) throw error;
    }
  }
}

/** The command's environment: the spec's, plus the marker that tells tests what sandbox they are in. */
export function commandEnvironment(config: InitConfig, overlays: OverlayMethods): Record<string, string> {
  const { spec, mode } = config;
  const marker: SandboxMarker = {
    mode, chain: config.chain, uid: spec.uid, network: spec.network, rootSize: spec.rootSize,
    processLimit: { kind: config.processLimit.kind, max: config.processLimit.max }, mounts: spec.mounts, cwd: spec.cwd, overlays,
    ...(spec.hostname !== undefined ? { hostname: spec.hostname } : {}),
  };
  return { ...spec.env, [SANDBOX_MARKER_VAR]: JSON.stringify(marker) };
}
