// Starts a process that is born in fresh namespaces. Node cannot unshare a
// user namespace itself (it is multithreaded from its first instruction), so
// the single-threaded util-linux tools make the namespaces. A Node command
// gets the one-Node chain (see one-node-chain.ts); any other command, and
// every command without a user namespace, gets this init chain:
//
//   setpriv --pdeathsig KILL        dies with the launcher
//    └ unshare --user --mount --pid --ipc --fork --kill-child
//       └ [pid 1] node init.js       builds the root, drops its capabilities, execs:
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
import { chooseChain, oneNodeArgv, startEnvironment, type ChainChoice } from './one-node-chain';
import { chooseProcessLimit, type ProcessLimit } from './process-limit';
import {
  INIT_CONFIG_VAR, SETUP_FAILED_EXIT, STATUS_FD,
  type InitConfig, type OverlayMethods, type SandboxChain, type SetupTimings, type StatusMessage, type Tools,
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
  /** Which processes make this sandbox, and why not the one-Node chain when it is not. */
  readonly chain: ChainChoice;

  constructor(request: LaunchRequest) {
    const hostUid = process.getuid?.() ?? -1;
    this.processLimit = chooseProcessLimit(request.spec.processLimit, hostUid);
    const { kind, max, cgroupProcs } = this.processLimit;
    this.chain = chooseChain(request);
    const chain: SandboxChain = this.chain.chain;
    const config: InitConfig = {
      spec: request.spec,
      mode: request.mode,
      chain,
      command: request.command,
      tools: request.tools,
      hostUid,
      processLimit: { kind, max, ...(cgroupProcs !== undefined ? { cgroupProcs } : {}) },
      ...(request.channel ? { channel: true as const } : {}),
      ...(typeof request.stdio === 'object' ? { controllingTerminal: true } : {}),
    };
    const [file, ...args] = this.chain.chain === 'one-node' ? oneNodeArgv(request, this.chain.node) : trampolineArgv(request);
    const io = typeof request.stdio === 'object' ? request.stdio.tty : request.stdio ?? 'inherit';
    // fd 3 (STATUS_FD): the init's status report; fd 4 (CHANNEL_FD): the channel. libuv makes both socketpairs.
    const stdio: StdioOptions = [io, io, io, 'pipe', ...(request.channel ? ['pipe' as const] : [])];
    this.child = spawn(file, args, {
      stdio,
      // Our own process group: a terminal's ^C reaches the launcher, which then ends the whole sandbox.
      detached: true,
      // Neither chain's trampoline sees what the options set: it runs on the host (startEnvironment). The
      // one-Node chain's Node reads NODE_OPTIONS and the like at its start, so it starts with those Jest runs
      // with; its preload, and the init at exec, put the command's environment in place, inside.
      env: chain === 'one-node'
        ? { ...startEnvironment(request.spec.env, process.env), [INIT_CONFIG_VAR]: JSON.stringify(config) }
        : { PATH: '/usr/bin:/bin', [INIT_CONFIG_VAR]: JSON.stringify(config) },
      // Node resolves a relative script against its cwd at its start, so in the one-Node chain that must be the
      // sandbox's, which chooseChain checked exists on the host too. (The host-side unshare keeps it, as it keeps
      // the launcher's in the init chain: the leak checks of the tests find a run's sandboxes by it.)
      ...(chain === 'one-node' ? { cwd: request.spec.cwd } : {}),
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

  /**
   * The status pipe's lines, settled at the first `ready` or `error`. In the
   * one-Node chain pid 1 holds the pipe open until the sandbox ends, so
   * the end of the stream cannot be what says the command started; lines
   * after the first verdict are ignored.
   */
  private async readStatus(stream: Readable): Promise<SetupReport> {
    let pending = '';
    let last: StatusMessage | undefined;
    stream.setEncoding('utf8');
    for await (const chunk of stream) {
      pending += chunk as string;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line === '') continue;
        try {
          last = JSON.parse(line) as StatusMessage;
        } catch {
          throw new SandboxError('internal', `the sandbox init wrote an unreadable status line: ${JSON.stringify(line.slice(0, 200))}`);
        }
        if (last.type === 'ready') return { timings: last.timings, overlays: last.overlays, steps: last.steps, launchedAt: this.launchedAt };
        if (last.type === 'error') {
          const { type: _type, ...wire } = last;
          throw fromWire(wire, wire.kind === 'setup' ? 'sandbox setup failed: ' : '');
        }
      }
    }
    if (pending !== '') throw new SandboxError('internal', `the sandbox init wrote an unreadable status line: ${JSON.stringify(pending.slice(0, 200))}`);
    const status = await this.exited;
    if (last?.type === 'started') {
      const who = this.chain.chain === 'one-node' ? 'the sandboxed node, while it built its sandbox,' : 'the sandbox init (node, pid 1 of the sandbox)';
      throw new SandboxError('internal', `${who} died before it reported, with exit status ${status.code}${status.signal ? ` (${status.signal})` : ''}`, {
        hint: 'its own output above says more; exit status 137 is usually the out-of-memory killer, 159 (SIGSYS) the seccomp filter',
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
