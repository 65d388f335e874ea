import { isSandboxError } from '../../src/shared/errors';
import { FileLifecycle, describeState, isFinal, transition, type FileEvent, type FileState } from '../../src/host/file-lifecycle';

const STATES: FileState[] = ['launching', 'preparing', 'ready', 'running', 'exited', 'failed', 'disposed'];
const LIVE: FileState[] = ['launching', 'preparing', 'ready', 'running'];
const EVENTS: FileEvent[] = ['exec', 'loaded', 'run', 'finish', 'die', 'dispose'];

function outcome(state: FileState, event: FileEvent): FileState | 'refused' {
  try {
    return transition(state, event);
  } catch (error) {
    if (isSandboxError(error) && error.kind === 'internal') return 'refused';
    throw error;
  }
}

function lifecycle(...events: FileEvent[]): FileLifecycle {
  const life = new FileLifecycle();
  for (const event of events) life.fire(event);
  return life;
}

describe('the transition table', () => {
  test('the whole table, state by event: where each event leads, and which it refuses', () => {
    const table = Object.fromEntries(STATES.map((state) => [state, Object.fromEntries(EVENTS.map((event) => [event, outcome(state, event)]))]));
    expect(table).toEqual({
      launching: { exec: 'preparing', loaded: 'ready', run: 'launching', finish: 'refused', die: 'failed', dispose: 'disposed' },
      preparing: { exec: 'refused', loaded: 'ready', run: 'preparing', finish: 'refused', die: 'failed', dispose: 'disposed' },
      ready: { exec: 'ready', loaded: 'ready', run: 'running', finish: 'refused', die: 'failed', dispose: 'disposed' },
      running: { exec: 'running', loaded: 'running', run: 'refused', finish: 'exited', die: 'failed', dispose: 'disposed' },
      exited: { exec: 'exited', loaded: 'exited', run: 'refused', finish: 'refused', die: 'refused', dispose: 'exited' },
      failed: { exec: 'failed', loaded: 'failed', run: 'failed', finish: 'refused', die: 'refused', dispose: 'failed' },
      disposed: { exec: 'disposed', loaded: 'disposed', run: 'disposed', finish: 'disposed', die: 'disposed', dispose: 'disposed' },
    });
  });

  test('nothing leaves a final state, and only running can finish', () => {
    for (const state of STATES) {
      for (const event of EVENTS) {
        const next = outcome(state, event);
        if (isFinal(state) && next !== 'refused') expect([state, event, next]).toEqual([state, event, state]);
        if (next === 'exited') expect([state, event]).toEqual(state === 'exited' ? [state, event] : ['running', 'finish']);
      }
    }
  });

  test('what the sandbox says (exec, loaded) is never refused once the file is past the point it could come: its streams race, and test code writes the channel', () => {
    for (const state of ['ready', 'running', 'exited', 'failed', 'disposed'] as const) {
      expect([outcome(state, 'exec'), outcome(state, 'loaded')]).toEqual([state, state]);
    }
  });

  test('a refusal is an internal error naming the state and the event', () => {
    expect(() => transition('exited', 'run')).toThrow('a sandboxed file in state "exited" received "run", which the lifecycle does not allow');
  });
});

describe('FileLifecycle', () => {
  test('the usual life: launching, preparing, ready, running, exited; it ended in running', () => {
    const life = new FileLifecycle();
    const seen = [life.state];
    for (const event of ['exec', 'loaded', 'run', 'finish'] as const) {
      life.fire(event);
      seen.push(life.state);
    }
    expect(seen).toEqual(['launching', 'preparing', 'ready', 'running', 'exited']);
    expect(life.endedIn).toBe('running');
  });

  test.each(LIVE)('a death while %s is remembered as such, and later events do not move it', (state) => {
    const path: Record<string, FileEvent[]> = { launching: [], preparing: ['exec'], ready: ['exec', 'loaded'], running: ['exec', 'loaded', 'run'] };
    const life = lifecycle(...path[state]);
    expect(life.state).toBe(state);
    expect(life.fire('die')).toBe(state);
    expect([life.state, life.endedIn]).toEqual(['failed', state]);
    life.fire('dispose');
    life.fire('run');
    expect([life.state, life.endedIn]).toEqual(['failed', state]);
  });

  test('a run asked for before Jest is loaded changes nothing until then', () => {
    const life = lifecycle('run', 'exec', 'run');
    expect(life.state).toBe('preparing');
    life.fire('loaded');
    expect(life.state).toBe('ready');
  });

  test('disposed while running: the process ending afterwards changes nothing', () => {
    const life = lifecycle('exec', 'loaded', 'run', 'dispose', 'die', 'finish');
    expect([life.state, life.endedIn]).toEqual(['disposed', 'running']);
  });

  test('an illegal event throws and leaves the state as it was', () => {
    const life = lifecycle('exec', 'loaded', 'run');
    expect(() => life.fire('run')).toThrow(/state "running" received "run"/);
    expect(life.state).toBe('running');
    expect(life.endedIn).toBeUndefined();
  });

  test('each live state has its own words for a crash message', () => {
    const words = LIVE.map(describeState);
    expect(new Set(words).size).toBe(LIVE.length);
    expect(describeState('preparing')).toBe('while it was loading Jest');
  });
});
