// Starts a process that is born in fresh namespaces. Node cannot unshare a
// user namespace itself (it is multithreaded from its first instruction), so
// the single-threaded util-linux tools make the namespaces and exec our init:
//
//   setpriv --pdeathsig KILL        dies with the launcher
//    └ unshare --user --mount --pid --ipc --fork --kill-child
//       └ [pid 1] node init.js       builds the root, then execs:
//          unshare --user --mount    nested namespaces lock every mount
//           └ [setpriv drop caps]    when uid 0 inside
//              └ sh (pid 1)          reaps, passes the exit status
//                 └ the command
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fromWire, SandboxError } from '../shared/errors';
import { outerUnshareFlags } from './host-support';
import { chooseProcessLimit, type ProcessLimit } from './process-limit';
import {
  INIT_CONFIG_VAR, SETUP_FAILED_EXIT, STATUS_FD,
  type InitConfig, type OverlayMethods, type SetupTimings, type StatusMessage, type Tools,
} from '../shared/sandbox-protocol';
import type { IsolationMode, SandboxSpec } from '../shared/spec';

export interface LaunchRequest {
  /** Already resolved and validated (see resolveSpec). */
  spec: SandboxSpec;
  command: string[];
  mode: IsolationMode;
  tools: Tools;
  /**
   * stdio of the command; `pipe` gives child.stdout/stderr to the caller;
   * `{ tty }`: a pty's slave, which becomes the command's controlling terminal.
   */
  stdio?: 'inherit' | 'pipe' | { tty: number };
  /**
   * Give the command a socket to the caller at fd CHANNEL_FD, as
   * `child.stdio[CHANNEL_FD]`. A plain byte stream, not Node's IPC: the
   * caller decodes what arrives itself (the command may be hostile).
   */
  channel?: boolean;
}

export interface SetupReport {
  timings: SetupTimings;
  overlays: OverlayMethods;
  /** Milliseconds per setup step inside. */
  steps: Array<[string, number]>;
  /** Milliseconds since the epoch when spawn was called. */
  launchedAt: number;
}

export interface ExitStatus {
  /** The exit code, with death by signal N as 128+N (shell convention). */
  code: number;
  signal: NodeJS.Signals | null;
}

const INIT_SCRIPT = path.join(__dirname, '..', 'inside', 'init.js');

export function trampolineArgv(request: LaunchRequest): string[] {
  const { tools, spec, mode } = request;
  const unshare = [tools.unshare, ...outerUnshareFlags(mode, spec.uid, { network: spec.network === 'none', uts: spec.hostname !== undefined }), '--'];
  return [tools.setpriv, '--pdeathsig', 'KILL', '--', ...unshare, process.execPath, INIT_SCRIPT];
}

export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? osConstants.signals[signal] ?? 0 : 0);
}

export class SandboxProcess {
  readonly child: ChildProcess;
  /** Resolves once the command has been exec'd; rejects with the setup error. */
  readonly ready: Promise<SetupReport>;
  readonly exited: Promise<ExitStatus>;
  readonly launchedAt = performance.timeOrigin + performance.now();
  readonly processLimit: ProcessLimit;

  constructor(request: LaunchRequest) {
    const hostUid = process.getuid?.() ?? -1;
    this.processLimit = chooseProcessLimit(request.spec.processLimit, hostUid);
    const { kind, max, cgroupProcs } = this.processLimit;
    const config: InitConfig = {
      spec: request.spec,
      mode: request.mode,
      command: request.command,
      tools: request.tools,
      hostUid,
      processLimit: { kind, max, ...(cgroupProcs !== undefined ? { cgroupProcs } : {}) },
      ...(request.channel ? { channel: true as const } : {}),
      ...(typeof request.stdio === 'object' ? { controllingTerminal: true } : {}),
    };
    const [file, ...args] = trampolineArgv(request);
    const io = typeof request.stdio === 'object' ? request.stdio.tty : request.stdio ?? 'inherit';
    // fd 3 (STATUS_FD): the init's status report; fd 4 (CHANNEL_FD): the channel. libuv makes both socketpairs.
    const stdio: StdioOptions = [io, io, io, 'pipe', ...(request.channel ? ['pipe' as const] : [])];
    this.child = spawn(file, args, {
      stdio,
      // Our own process group: a terminal's ^C reaches the launcher, which then ends the whole sandbox.
      detached: true,
      env: { PATH: '/usr/bin:/bin', [INIT_CONFIG_VAR]: JSON.stringify(config) },
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', (error) => {
        void this.processLimit.release();
        reject(new SandboxError('host', `cannot start ${file}: ${error.message}`, { cause: error }));
      });
      this.child.once('exit', (code, signal) => {
        void this.processLimit.release().then(() => resolve({ code: exitCodeOf(code, signal), signal }));
      });
    });
    this.ready = this.readStatus(this.child.stdio[STATUS_FD] as Readable);
    // Callers that only await `exited` must not see an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  private async readStatus(stream: Readable): Promise<SetupReport> {
    let text = '';
    stream.setEncoding('utf8');
    for await (const chunk of stream) text += chunk as string;
    const lines = text.split('\n').filter((line) => line !== '');
    let last: StatusMessage | undefined;
    try {
      last = lines.length > 0 ? (JSON.parse(lines[lines.length - 1]) as StatusMessage) : undefined;
    } catch {
      throw new SandboxError('internal', `the sandbox init wrote an unreadable status line: ${JSON.stringify(lines[lines.length - 1].slice(0, 200))}`);
    }
    if (last?.type === 'ready') return { timings: last.timings, overlays: last.overlays, steps: last.steps, launchedAt: this.launchedAt };
    if (last?.type === 'error') {
      const { type: _type, ...wire } = last;
      throw fromWire(wire, wire.kind === 'setup' ? 'sandbox setup failed: ' : '');
    }
    const status = await this.exited;
    if (last?.type === 'started') {
      throw new SandboxError('internal', `the sandbox init (node, pid 1 of the sandbox) died before it reported, with exit status ${status.code}${status.signal ? ` (${status.signal})` : ''}`, {
        hint: 'its own output above says more; exit status 137 is usually the out-of-memory killer',
      });
    }
    throw new SandboxError('setup', `the namespace trampoline (${path.basename(this.child.spawnfile)}, unshare) exited with ${status.code} before the sandbox init ran`, {
      hint: 'see the unshare message above; `mount-sandbox doctor` explains what this host allows',
    });
  }

  /** Ends the sandbox and everything in it: pid 1 dies with the trampoline, and the pid namespace with pid 1. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

export { SETUP_FAILED_EXIT };
