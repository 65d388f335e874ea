// One test file's life in Jest's process: launch its sandbox, hand the child
// the run request, relay its events, and turn every way it can end into
// either Jest's TestResult or a failure that says what happened.
import type { SerializableError, Test, TestEvents, TestResult } from '@jest/test-result';
import type { Config } from '@jest/types';
import type { TestRunnerContext } from 'jest-runner';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { debug, debugEnabled } from '../debug';
import { formatError } from '../errors';
import { SandboxProcess } from '../sandbox/launcher';
import type { Tools } from '../sandbox/protocol';
import type { IsolationMode } from '../sandbox/spec';
import { JEST_DEFAULT_PROJECT, planTestFile } from './file-plan';
import { jestModules } from './jest-modules';
import { toSerializableError, type ChildMessage, type RunRequest } from './protocol';

const CHILD_SCRIPT = path.join(__dirname, 'child.js');
/** How much of a crashed child's output a failure message quotes. */
const OUTPUT_TAIL = 4000;

export type CaseEvent = 'test-case-start' | 'test-case-result';
export type EmitCaseEvent = <Name extends CaseEvent>(name: Name, args: TestEvents[Name]) => Promise<void>;

export interface FileRunContext {
  globalConfig: Config.GlobalConfig;
  runnerContext: TestRunnerContext;
  tools: Tools;
  mode: IsolationMode;
  workerId: number;
  moduleMap: RunRequest['moduleMap'];
  emit: EmitCaseEvent;
  /** Folders created on the host for this run, to remove afterwards if still empty. */
  createdDirs: Set<string>;
  /** Says a one-line notice once per run. */
  notice(key: string, line: string): void;
  track(sandbox: SandboxProcess): () => void;
}

export class FileFailure extends Error {
  constructor(readonly serializable: SerializableError) {
    super(serializable.message);
  }
}

function childExecArgv(globalConfig: Config.GlobalConfig): string[] {
  // Like jest-worker: a debugger flag would make every child wait on the same port.
  const argv = process.execArgv.filter((arg) => !/^--(inspect|debug)/.test(arg));
  if ((globalConfig.detectLeaks || globalConfig.logHeapUsage) && !argv.includes('--expose-gc')) argv.push('--expose-gc');
  return argv;
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The `mount-sandbox run` line that rebuilds this file's sandbox, for debugging a test from the shell. */
export function equivalentCommand(test: Test, plan: Awaited<ReturnType<typeof planTestFile>>): string {
  const { config } = test.context;
  const options = { ...plan.options, project: plan.options.project ?? JEST_DEFAULT_PROJECT.mode };
  const writable = plan.spec.mounts.filter((op) => op.type === 'bind' && (op.origin ?? '').match(/cacheDirectory|snapshots/));
  const words = [
    'mount-sandbox', 'run', '--project', config.rootDir, '--cwd', plan.spec.cwd, '--config-json', JSON.stringify(options),
    ...writable.flatMap((op) => ['--bind', `${(op as { source: string }).source}:${op.dest}`]),
    '--', 'sh',
  ];
  return words.map(shellQuote).join(' ');
}

/** sh, pid 1 inside, reports a child killed by signal N as exit status 128+N. */
function signalOfExitCode(code: number): string | undefined {
  if (code <= 128) return undefined;
  return Object.entries(osConstants.signals).find(([, number]) => number === code - 128)?.[0];
}

function tail(text: string): string {
  return text.length > OUTPUT_TAIL ? `…${text.slice(-OUTPUT_TAIL)}` : text;
}

export async function runSandboxedFile(test: Test, ctx: FileRunContext): Promise<TestResult> {
  const plan = await planTestFile(test, ctx.globalConfig, ctx.tools);
  for (const dir of plan.createdDirs) ctx.createdDirs.add(dir);
  const env: Record<string, string> = { ...plan.spec.env, JEST_WORKER_ID: String(ctx.workerId) };
  if (process.stdout.isTTY && env.FORCE_COLOR === undefined && env.NO_COLOR === undefined) env.FORCE_COLOR = '1';
  const sandbox = new SandboxProcess({
    spec: { ...plan.spec, env },
    command: [process.execPath, ...childExecArgv(ctx.globalConfig), CHILD_SCRIPT],
    mode: ctx.mode,
    tools: ctx.tools,
    stdio: 'pipe',
    ipc: 'advanced',
  });
  const untrack = ctx.track(sandbox);
  if (debugEnabled()) debug(`${path.relative(process.cwd(), test.path)} runs in the sandbox of:\n  ${equivalentCommand(test, plan)}`);
  let output = '';
  for (const stream of [sandbox.child.stdout, sandbox.child.stderr]) {
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      output = tail(output + chunk);
      // Like jest-runner's workers: the child's raw output reaches the user's terminal.
      (stream === sandbox.child.stdout ? process.stdout : process.stderr).write(chunk);
    });
  }

  let outcome: ChildMessage | undefined;
  let relay = Promise.resolve();
  let loadedAt: number | undefined;
  sandbox.child.on('message', (message: ChildMessage) => {
    if (message.type === 'loaded') {
      loadedAt = performance.timeOrigin + performance.now();
    } else if (message.type === 'test-case-start' || message.type === 'test-case-result') {
      relay = relay.then(() => ctx.emit(message.type, message.args as TestEvents[typeof message.type]));
    } else if (message.type === 'result' || message.type === 'failure') {
      outcome = message;
    }
  });

  const { config } = test.context;
  const request: RunRequest = {
    type: 'run',
    testPath: test.path,
    globalConfig: ctx.globalConfig,
    config,
    moduleMap: ctx.moduleMap,
    workerId: ctx.workerId,
    ...(ctx.runnerContext.changedFiles ? { changedFiles: [...ctx.runnerContext.changedFiles] } : {}),
    ...(ctx.runnerContext.sourcesRelatedToTestsInChangedFiles ? { sourcesRelatedToTestsInChangedFiles: [...ctx.runnerContext.sourcesRelatedToTestsInChangedFiles] } : {}),
    modules: jestModules(),
  };
  try {
    sandbox.child.send(request);
  } catch (error) {
    // Config values structured clone refuses (none in a normalized config, but a preset may add some).
    if (!(error instanceof Error && error.name === 'DataCloneError')) throw error;
    sandbox.child.send(JSON.parse(JSON.stringify(request)) as RunRequest);
  }

  let setupError: unknown;
  sandbox.ready.catch((error: unknown) => {
    setupError = error;
  });
  try {
    const status = await sandbox.exited;
    const report = await sandbox.ready.catch(() => undefined);
    await relay;
    const project = plan.spec.mounts.find((op) => op.type === 'overlay' && op.origin === JEST_DEFAULT_PROJECT.origin);
    if (project && report?.overlays[project.dest] === 'ro-bind') {
      ctx.notice('overlay-fallback', 'overlayfs is refused in a user namespace here (it needs Linux >= 5.11), so the project is read-only instead of a discarded overlay; set testEnvironmentOptions.sandbox.project to "readonly" to silence this');
    }
    if (debugEnabled()) {
      const end = performance.timeOrigin + performance.now();
      const t = report?.timings;
      debug(`${path.relative(process.cwd(), test.path)}: ` + (t
        ? `launch→init ${(t.initStartedAt - sandbox.launchedAt).toFixed(0)} ms, mounts ${t.mountMs.toFixed(1)} ms, ` +
          `init→exec ${(t.execAt - t.initStartedAt).toFixed(0)} ms, child start+load Jest ${loadedAt ? (loadedAt - t.execAt).toFixed(0) : '?'} ms, ` +
          `run ${loadedAt ? (end - loadedAt).toFixed(0) : '?'} ms, `
        : '') + `total ${(end - sandbox.launchedAt).toFixed(0)} ms`);
    }
    if (outcome?.type === 'result') return outcome.result;
    if (outcome?.type === 'failure') throw new FileFailure(outcome.error);
    if (setupError !== undefined) throw new FileFailure(toSerializableError(new Error(formatError(setupError))));
    const signal = status.signal ?? signalOfExitCode(status.code);
    const how = signal ? `was killed by ${signal} (exit status ${status.code})` : `exited with code ${status.code}`;
    const hint = signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : '';
    const printed = output.trim() === '' ? ' It printed nothing.' : ` Its last output:\n${output.trimEnd()}`;
    throw new FileFailure({
      message: `mount-sandbox: the sandboxed test process ${how}${hint} before reporting a result, e.g. through process.exit() or a crash.${printed}`,
      stack: '',
      type: 'Error',
    });
  } finally {
    untrack();
    sandbox.kill();
  }
}
