// What the launcher and the sandbox init say to each other. The init's
// config travels in one environment variable; its report comes back as one
// JSON line on a status pipe, which the command inside never inherits.
import type { SandboxErrorWire } from './errors';
import type { IsolationMode, SandboxSpec } from './spec';


export const INIT_CONFIG_VAR = 'MOUNT_SANDBOX_INIT';
/** Set for the command inside: the spec in effect (without env), as JSON. */
export const SANDBOX_MARKER_VAR = 'MOUNT_SANDBOX';
export const STATUS_FD = 3;
/**
 * The runner's channel to the command, when the launch asks for one: a
 * socket carrying length-prefixed frames (frames.ts), not Node's IPC.
 */
export const CHANNEL_FD = 4;
/** The init's exit status when the sandbox could not be built (as env(1) and docker use 125). */
export const SETUP_FAILED_EXIT = 125;

export interface Tools {
  unshare: string;
  setpriv: string;
  sh: string;
  /** coreutils' env: the init chain's tools run with an empty environment, and env -i hands the command its own. */
  env: string;
}

/**
 * Which processes make the sandbox. `init`: a Node init builds the root,
 * then execs the command through a nested user namespace that locks every
 * mount. `one-node`: the command is Node, and builds its root itself before
 * it runs anything else, then locks itself down with a seccomp filter.
 */
export type SandboxChain = 'init' | 'one-node';

export interface InitConfig {
  spec: SandboxSpec;
  mode: IsolationMode;
  chain: SandboxChain;
  command: string[];
  tools: Tools;
  /** The caller's uid outside, to know whether the command would be uid 0 inside. */
  hostUid: number;
  /** How the process limit is enforced, and the cgroup to join first when it is one. */
  processLimit: { kind: 'pids-cgroup' | 'rlimit' | 'none'; max: number; cgroupProcs?: string };
  /** When set, fd CHANNEL_FD is handed to the command (and no other descriptor beyond stdio). */
  channel?: true;
  /** stdin is a fresh pty's slave: make it the command's controlling terminal, for job control and ^C. */
  controllingTerminal?: boolean;
}

export interface SetupTimings {
  /** Milliseconds since the epoch when the init's Node process started. */
  initStartedAt: number;
  /** Time spent building the root (namespaces already exist). */
  mountMs: number;
  /** Milliseconds since the epoch when the command's own code may start: just before its exec, or in the one-Node chain, once locked down. */
  execAt: number;
  /**
   * CPU time (user + system, ms) the process that built the root had spent by then: the init's, or in the
   * one-Node chain the test's own Node, its start included. For MOUNT_SANDBOX_DEBUG and bench/.
   */
  cpuMs?: number;
}

/** Per overlay destination, what it became: overlayfs, a copy, or (for a project) a read-only bind. */
export type OverlayMethods = Record<string, 'overlay' | 'copy' | 'ro-bind'>;

export type StatusMessage =
  /** The init's first line, before it loads anything that can fail: later silence is its own death, not unshare's. */
  | { type: 'started' }
  | { type: 'ready'; timings: SetupTimings; overlays: OverlayMethods; steps: Array<[string, number]> }
  | ({ type: 'error' } & SandboxErrorWire);

export interface SandboxMarker {
  mode: IsolationMode;
  chain: SandboxChain;
  uid: SandboxSpec['uid'];
  network: SandboxSpec['network'];
  hostname?: string;
  rootSize: number;
  /** How many tasks the sandbox may have, and what enforces it (`none`: root where no pids cgroup can be made). */
  processLimit: { kind: 'pids-cgroup' | 'rlimit' | 'none'; max: number };
  mounts: SandboxSpec['mounts'];
  cwd: string;
  overlays: OverlayMethods;
}
