// The states one sandboxed test file moves through in Jest's process, and
// every transition between them, in one table:
//
//   launching → preparing → ready → running → exited
//   and from each of the four live states: → failed | disposed
//
// Two kinds of events drive it. The runner's own (`run`, `finish`, `die`,
// `dispose`) must follow the table: any other is our bug, and is refused.
// What the sandbox tells us (`exec` on the status pipe, `loaded` on the
// channel) arrives on two streams whose order is not guaranteed, and the
// channel is written by test code, so a late, early or repeated one is
// listed where it may arrive, and changes nothing there.
import { SandboxError } from '../shared/errors';

export type FileState =
  /** The sandbox is being built: the init runs its mounts. */
  | 'launching'
  /** The init exec'd the child, which loads Jest. */
  | 'preparing'
  /** Jest is loaded; the file waits for a free slot. */
  | 'ready'
  /** The child has its file. */
  | 'running'
  /** It ended by itself after reporting an outcome for its file. */
  | 'exited'
  /** It ended without a usable report: setup failed, it crashed, or it was killed (timeout, a broken channel). */
  | 'failed'
  /** The runner ended it before it finished (an interrupt, the end of the run). */
  | 'disposed';

export type FileEvent =
  /** The status pipe says the init exec'd the command. */
  | 'exec'
  /** The child says it loaded Jest. */
  | 'loaded'
  /** The runner hands the child its file. */
  | 'run'
  /** The process ended, after reporting its outcome while running. */
  | 'finish'
  /** The process ended (or was ended) without a usable outcome. */
  | 'die'
  /** The runner ends the sandbox, whatever it is doing. */
  | 'dispose';

/** state → event → next state; a missing entry is an illegal transition. */
const TRANSITIONS: { readonly [S in FileState]: { readonly [E in FileEvent]?: FileState } } = {
  // `loaded` before `exec`: the channel's frame was read before the status pipe's end.
  // `run` before `ready` changes nothing yet: the child starts its file once Jest is loaded, and `run` is fired again then.
  launching: { exec: 'preparing', loaded: 'ready', run: 'launching', die: 'failed', dispose: 'disposed' },
  preparing: { loaded: 'ready', run: 'preparing', die: 'failed', dispose: 'disposed' },
  ready: { exec: 'ready', loaded: 'ready', run: 'running', die: 'failed', dispose: 'disposed' },
  running: { exec: 'running', loaded: 'running', finish: 'exited', die: 'failed', dispose: 'disposed' },
  exited: { exec: 'exited', loaded: 'exited', dispose: 'exited' },
  // A file that failed while waiting is still run, to report why.
  failed: { exec: 'failed', loaded: 'failed', run: 'failed', dispose: 'failed' },
  // Its process still ends after a dispose, and a worker may still pick it up.
  disposed: { exec: 'disposed', loaded: 'disposed', run: 'disposed', finish: 'disposed', die: 'disposed', dispose: 'disposed' },
};

const FINAL: ReadonlySet<FileState> = new Set(['exited', 'failed', 'disposed']);

export function isFinal(state: FileState): boolean {
  return FINAL.has(state);
}

/** The next state, or an internal error naming the transition that is not in the table. */
export function transition(state: FileState, event: FileEvent): FileState {
  const next = TRANSITIONS[state][event];
  if (next === undefined) {
    throw new SandboxError('internal', `a sandboxed file in state "${state}" received "${event}", which the lifecycle does not allow`);
  }
  return next;
}

/** For messages: what the file was doing in each live state. */
export function describeState(state: FileState): string {
  switch (state) {
    case 'launching':
      return 'while its sandbox was being built';
    case 'preparing':
      return 'while it was loading Jest';
    case 'ready':
      return 'while it waited for a free slot';
    case 'running':
      return 'while it ran its file';
    case 'exited':
    case 'failed':
    case 'disposed':
      return `after it had ${state}`;
  }
}

/** One file's state, changed only through the table; remembers the state it ended in. */
export class FileLifecycle {
  #state: FileState = 'launching';
  #endedIn: FileState | undefined;

  get state(): FileState {
    return this.#state;
  }

  /** The last live state before the final one (where a crash happened); undefined while live. */
  get endedIn(): FileState | undefined {
    return this.#endedIn;
  }

  /** Applies `event`; returns the state it left. Throws on an illegal transition. */
  fire(event: FileEvent): FileState {
    const from = this.#state;
    const to = transition(from, event);
    if (to === from) return from;
    this.#state = to;
    if (isFinal(to)) this.#endedIn = from;
    return from;
  }
}
