// One test file's life in Jest's process: launch its sandbox (early, while
// another file still runs), let the child load Jest, hand it the file when a
// slot is free, relay its events, and turn every way it can end into either
// Jest's TestResult or a failure that says what happened.
import type { SerializableError, Test, TestEvents, TestResult } from '@jest/test-result';
import type { Config } from '@jest/types';
import type { TestRunnerContext } from 'jest-runner';
import fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { debug, debugEnabled } from '../shared/debug';
import { formatError } from '../shared/errors';
import { SandboxProcess, type ExitStatus, type SetupReport } from './launcher';
import type { Tools } from '../shared/sandbox-protocol';
import type { HostView } from './defaults';
import { isUnder } from '../shared/paths';
import type { IsolationMode } from '../shared/spec';
import { JEST_DEFAULT_PROJECT, planTestFile, type FilePlan } from './file-plan';
import { jestModules } from '../shared/jest-modules';
import type { OnceLines } from './output-dedupe';
import { settleScratch } from './snapshot-scratch';
import { transformKeysFor, type TransformKeys } from './transform-keys';
import { isCloneError, toJsonSafe, toSerializableError, type ChildMessage, type ParentMessage, type PrepareRequest, type RunRequest } from '../shared/jest-protocol';

const CHILD_SCRIPT = path.join(__dirname, '..', 'inside', 'child.js');
/** Ten minutes: far beyond any sane test file, short of a CI job's own limit. */
const DEFAULT_FILE_TIMEOUT = 600_000;
/** How much of a crashed child's output a failure message quotes. */
const OUTPUT_TAIL = 4000;

export type CaseEvent = 'test-case-start' | 'test-case-result';
export type EmitCaseEvent = <Name extends CaseEvent>(name: Name, args: TestEvents[Name]) => Promise<void>;

export interface FileRunContext {
  globalConfig: Config.GlobalConfig;
  runnerContext: TestRunnerContext;
  tools: Tools;
  mode: IsolationMode;
  moduleMap: PrepareRequest['moduleMap'];
  /** Host lookups shared by the run's files (node_modules scans are done once). */
  host: HostView;
  emit: EmitCaseEvent;
  /** Folders created on the host for this run, to remove afterwards if still empty. */
  createdDirs: Set<string>;
  /** Shared by the run's files: once-per-process warnings on their stderr are shown once. */
  stderrOnce: OnceLines;
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

/**
 * The `mount-sandbox run` line that rebuilds this file's sandbox, for
 * debugging a test from the shell. It must work pasted later, when the
 * file's scratch snapshot folder is long gone: the snapshot folder appears
 * as a discarded overlay of the real one instead (inside the project's own
 * overlay, that is what it already is), created first if the runner had to
 * create it for the run and may have removed it since.
 */
export function equivalentCommand(test: Test, plan: FilePlan): string {
  const { config } = test.context;
  // The default project falls back to read-only where it cannot be an overlay (a tree you do not own);
  // an explicit 'overlay' on the command line has no fallback, so say what the run really got.
  const defaultProject = plan.spec.mounts.find((op) => op.origin === JEST_DEFAULT_PROJECT.origin);
  const fellBack = defaultProject?.type === 'overlay' && defaultProject.skipOverlay !== undefined;
  const options = { ...plan.options, project: plan.options.project ?? (fellBack ? 'readonly' : JEST_DEFAULT_PROJECT.mode) };
  const writable = plan.spec.mounts.filter((op) => op.type === 'bind' && (op.origin ?? '').match(/cacheDirectory|inline snapshots/));
  const snapshots = plan.snapshots?.realDir;
  const overlaySnapshots = snapshots !== undefined && !(options.project === 'overlay' && isUnder(snapshots, fs.realpathSync(config.rootDir)));
  const words = [
    'mount-sandbox', 'run', '--project', config.rootDir, '--cwd', plan.spec.cwd, '--config-json', JSON.stringify(options),
    ...writable.flatMap((op) => ['--bind', `${(op as { source: string }).source}:${op.dest}`]),
    ...(overlaySnapshots ? ['--overlay', `${snapshots}:${snapshots}`] : []),
    '--', 'sh',
  ];
  return `${overlaySnapshots ? `mkdir -p ${shellQuote(snapshots)} && ` : ''}${words.map(shellQuote).join(' ')}`;
}

/** sh, pid 1 inside, reports a child killed by signal N as exit status 128+N. */
function signalOfExitCode(code: number): string | undefined {
  if (code <= 128) return undefined;
  return Object.entries(osConstants.signals).find(([, number]) => number === code - 128)?.[0];
}

function tail(text: string): string {
  return text.length > OUTPUT_TAIL ? `…${text.slice(-OUTPUT_TAIL)}` : text;
}

/** util-linux unshare's words when the sandbox's pid 1 died of SIGKILL (it cannot re-raise SIGKILL on itself). */
const INIT_KILLED = /^unshare: sigprocmask unblock failed: .*\n?/m;

function describeExit(status: ExitStatus, raw: string): SerializableError {
  const initKilled = status.code === 1 && INIT_KILLED.test(raw);
  const output = raw.replace(INIT_KILLED, '');
  const signal = initKilled ? 'SIGKILL' : status.signal ?? signalOfExitCode(status.code);
  const how = initKilled ? 'was killed by SIGKILL (the sandbox\'s init died)' : signal ? `was killed by ${signal} (exit status ${status.code})` : `exited with code ${status.code}`;
  const hint = signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : '';
  const printed = output.trim() === '' ? ' It printed nothing.' : ` Its last output:\n${output.trimEnd()}`;
  return {
    message: `mount-sandbox: the sandboxed test process ${how}${hint} before reporting a result, e.g. through process.exit() or a crash.${printed}`,
    stack: '',
    type: 'Error',
  };
}

/** The shape check for what the child sends; anything else is dropped. */
export function parseChildMessage(raw: unknown): ChildMessage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const message = raw as Record<string, unknown>;
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
  switch (message.type) {
    case 'loaded':
      return typeof message.loadMs === 'number' ? (message as unknown as ChildMessage) : undefined;
    case 'test-case-start':
    case 'test-case-result':
      return Array.isArray(message.args) && message.args.length === 2 && typeof message.args[0] === 'string' && isObject(message.args[1])
        ? (message as unknown as ChildMessage)
        : undefined;
    case 'result':
      return isObject(message.result) && Array.isArray(message.result.testResults) && isObject(message.stats)
        ? (message as unknown as ChildMessage)
        : undefined;
    case 'failure':
      return isObject(message.error) && typeof message.error.message === 'string' ? (message as unknown as ChildMessage) : undefined;
    default:
      return undefined;
  }
}

function send(sandbox: SandboxProcess, message: ParentMessage): void {
  try {
    sandbox.child.send(message);
  } catch (error) {
    // Values structured clone refuses (none in a normalized config, but a preset may add some).
    if (!isCloneError(error)) throw error;
    sandbox.child.send(toJsonSafe(message));
  }
}

/**
 * A test file whose sandbox is launched and whose child is loading Jest.
 * `run()` hands it the file; `dispose()` ends it, whatever state it is in.
 */
export class SandboxedFile {
  readonly #test: Test;
  readonly #ctx: FileRunContext;
  readonly #plan: FilePlan;
  readonly #sandbox: SandboxProcess;
  readonly #untrack: () => void;
  #output = '';
  #outcome: ChildMessage | undefined;
  #relay = Promise.resolve();
  #loadedAt: number | undefined;
  #running = false;
  /** Killed by us (timeout, interrupt, bail) before it ended by itself. */
  #killed = false;

  private constructor(test: Test, ctx: FileRunContext, plan: FilePlan, env: Record<string, string>, transformKeys: TransformKeys | undefined) {
    this.#test = test;
    this.#ctx = ctx;
    this.#plan = plan;
    this.#sandbox = new SandboxProcess({
      spec: { ...plan.spec, env },
      command: [process.execPath, ...childExecArgv(ctx.globalConfig), CHILD_SCRIPT],
      mode: ctx.mode,
      tools: ctx.tools,
      stdio: 'pipe',
      ipc: 'advanced',
    });
    this.#untrack = ctx.track(this.#sandbox);
    if (debugEnabled()) debug(`${path.relative(process.cwd(), test.path)} runs in the sandbox of:\n  ${equivalentCommand(test, plan)}`);
    for (const stream of [this.#sandbox.child.stdout, this.#sandbox.child.stderr]) {
      const isStdout = stream === this.#sandbox.child.stdout;
      // Each file is a fresh process: what Node or a transformer warns about once per process would repeat per file.
      const filter = isStdout ? undefined : ctx.stderrOnce.stream();
      const out = isStdout ? process.stdout : process.stderr;
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        this.#output = tail(this.#output + chunk);
        // Like jest-runner's workers: the child's raw output reaches the user's terminal.
        out.write(filter ? filter.write(chunk) : chunk);
      });
      if (filter) stream?.on('end', () => out.write(filter.end()));
    }
    this.#sandbox.child.on('message', (message: unknown) => this.#receive(message));
    const config = { ...test.context.config, cacheDirectory: plan.cacheDirectory };
    const prepare: PrepareRequest = { type: 'prepare', globalConfig: ctx.globalConfig, config, moduleMap: ctx.moduleMap, modules: jestModules(), ...(transformKeys ? { transformKeys } : {}) };
    send(this.#sandbox, prepare);
  }

  /** Plans and launches; bad options fail here, before anything is launched. */
  static async launch(test: Test, ctx: FileRunContext): Promise<SandboxedFile> {
    const plan = await planTestFile(test, ctx.globalConfig, ctx.tools, ctx.host);
    for (const dir of plan.createdDirs) ctx.createdDirs.add(dir);
    try {
      const env: Record<string, string> = { ...plan.spec.env };
      if (process.stdout.isTTY && env.FORCE_COLOR === undefined && env.NO_COLOR === undefined) env.FORCE_COLOR = '1';
      const config = { ...test.context.config, cacheDirectory: plan.cacheDirectory };
      const keys = await transformKeysFor({ test, plan, config, env, globalConfig: ctx.globalConfig, runnerContext: ctx.runnerContext });
      return new SandboxedFile(test, ctx, plan, env, keys);
    } catch (error) {
      if (plan.snapshots) settleScratch(plan.snapshots, false, 'none');
      throw error;
    }
  }

  /**
   * Test code can reach the real `process.send`, so anything may arrive here:
   * only well-formed messages count, the first outcome wins, and a reporter
   * that chokes on forged event data fails this file rather than the run.
   */
  #receive(raw: unknown): void {
    const message = parseChildMessage(raw);
    if (message === undefined || this.#outcome !== undefined) return;
    if (message.type === 'loaded') {
      this.#loadedAt = performance.timeOrigin + performance.now();
    } else if (message.type === 'test-case-start' || message.type === 'test-case-result') {
      if (message.args[0] !== this.#test.path) return;
      const name = message.type;
      const args = message.args as TestEvents[typeof name];
      this.#relay = this.#relay.then(() => this.#ctx.emit(name, args)).catch((error: unknown) => {
        this.#outcome ??= { type: 'failure', error: toSerializableError(new Error(`mount-sandbox: a ${name} event from the sandbox could not be reported: ${error instanceof Error ? error.message : String(error)}`)) };
      });
    } else {
      this.#outcome = message;
    }
  }

  async run(workerId: number): Promise<TestResult> {
    this.#running = true;
    const { runnerContext } = this.#ctx;
    const startedAt = performance.timeOrigin + performance.now();
    const request: RunRequest = {
      type: 'run',
      testPath: this.#test.path,
      workerId,
      ...(runnerContext.changedFiles ? { changedFiles: [...runnerContext.changedFiles] } : {}),
      ...(runnerContext.sourcesRelatedToTestsInChangedFiles ? { sourcesRelatedToTestsInChangedFiles: [...runnerContext.sourcesRelatedToTestsInChangedFiles] } : {}),
    };
    if (this.#sandbox.child.connected) send(this.#sandbox, request);
    const limit = this.#plan.options.fileTimeout ?? DEFAULT_FILE_TIMEOUT;
    let timedOut = false;
    let result: TestResult | undefined;
    // Jest's testTimeout is a timer, which a synchronous loop never lets fire: only killing the sandbox ends it.
    const watchdog = limit > 0 ? setTimeout(() => {
      timedOut = true;
      this.#sandbox.kill();
    }, limit) : undefined;
    try {
      const status = await this.#sandbox.exited;
      clearTimeout(watchdog);
      if (timedOut) {
        throw new FileFailure({
          message: `mount-sandbox: the test file did not finish within ${limit} ms (testEnvironmentOptions.sandbox.fileTimeout), so its sandbox was killed; a synchronous endless loop is the usual cause, which Jest's testTimeout cannot interrupt.${this.#output.trim() ? ` Its last output:\n${this.#output.trimEnd()}` : ''}`,
          stack: '',
          type: 'Error',
        });
      }
      const report: SetupReport | Error = await this.#sandbox.ready.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      await this.#relay;
      if (!(report instanceof Error)) this.#noticeFallbacks(report);
      this.#debugTimings(report instanceof Error ? undefined : report, startedAt);
      const outcome = this.#outcome;
      if (outcome?.type === 'result') return (result = this.#sanitize(outcome.result));
      if (outcome?.type === 'failure') throw new FileFailure(outcome.error);
      if (report instanceof Error) throw new FileFailure(toSerializableError(new Error(formatError(report))));
      throw new FileFailure(describeExit(status, this.#output));
    } finally {
      this.dispose();
      // Jest saved its snapshots before the child sent the result; after a kill, a .snap may be half written.
      // A snapshot Jest wrote that did not reach the host fails the file (a throw here replaces the return).
      const problem = this.#settleSnapshots(result !== undefined && !timedOut && !this.#killed);
      if (problem !== undefined && result !== undefined) throw new FileFailure({ message: problem, stack: '', type: 'Error' });
    }
  }

  /** Copies this file's .snap back from the scratch folder (or only drops the folder), and says what it left out. */
  #settleSnapshots(copyBack: boolean): string | undefined {
    const scratch = this.#plan.snapshots;
    if (!scratch) return undefined;
    const { problem, ignored } = settleScratch(scratch, copyBack, this.#ctx.globalConfig.updateSnapshot);
    if (ignored.length > 0) {
      const shown = ignored.length > 10 ? [...ignored.slice(0, 10), `and ${ignored.length - 10} more`] : ignored;
      process.stderr.write(`mount-sandbox: ${path.relative(process.cwd(), this.#test.path)} left in its snapshot folder what never reaches ${scratch.realDir}: ${shown.join(', ')} (only the regular file ${scratch.name} is copied back)\n`);
    }
    return problem;
  }

  /**
   * The result comes from code we do not trust. Jest's process acts on two of
   * its fields: the file path, and the v8 coverage source maps it reads from
   * disk. Pin the first, and keep the second inside the sandboxes' cache.
   */
  #sanitize(result: TestResult): TestResult {
    const cache = this.#plan.cacheDirectory;
    for (const entry of result.v8Coverage ?? []) {
      const transform = entry.codeTransformResult;
      if (!transform?.sourceMapPath) continue;
      let real: string | undefined;
      try {
        real = fs.realpathSync(transform.sourceMapPath);
      } catch {
        real = undefined;
      }
      if (real === undefined || !real.startsWith(`${cache}${path.sep}`)) transform.sourceMapPath = null;
    }
    return { ...result, testFilePath: this.#test.path };
  }

  #noticeFallbacks(report: SetupReport): void {
    const project = this.#plan.spec.mounts.find((op) => op.type === 'overlay' && op.origin === JEST_DEFAULT_PROJECT.origin);
    if (project?.type === 'overlay' && report.overlays[project.dest] === 'ro-bind') {
      const why = project.skipOverlay ?? 'overlayfs is refused in a user namespace here (it needs Linux >= 5.11)';
      this.#ctx.notice('overlay-fallback', `${why}, so the project is read-only instead of a discarded overlay; set testEnvironmentOptions.sandbox.project to "readonly" to silence this`);
    }
  }

  #debugTimings(report: SetupReport | undefined, startedAt: number): void {
    if (!debugEnabled()) return;
    const end = performance.timeOrigin + performance.now();
    const t = report?.timings;
    const loaded = this.#loadedAt;
    const stats = this.#outcome?.type === 'result' ? this.#outcome.stats : undefined;
    debug(`${path.relative(process.cwd(), this.#test.path)}: ` + (t
      ? `launch→init ${(t.initStartedAt - this.#sandbox.launchedAt).toFixed(0)} ms, mounts ${t.mountMs.toFixed(1)} ms, ` +
        `init→exec ${(t.execAt - t.initStartedAt).toFixed(0)} ms, child start+load Jest ${loaded ? (loaded - t.execAt).toFixed(0) : '?'} ms, ` +
        `waited for a slot ${loaded ? Math.max(0, startedAt - loaded).toFixed(0) : '?'} ms, run ${(end - Math.max(startedAt, loaded ?? startedAt)).toFixed(0)} ms, `
      : '') + `total ${(end - this.#sandbox.launchedAt).toFixed(0)} ms` +
      (stats ? `, child peak RSS ${(stats.maxRss / 1024 ** 2).toFixed(1)} MB` : '') +
      `, ${this.#sandbox.chain.chain === 'one-node' ? 'one Node process' : `init chain (${this.#sandbox.chain.why})`}`);
  }

  /** Ends the sandbox and everything in it; safe to call twice. */
  dispose(): void {
    const child = this.#sandbox.child;
    if (child.exitCode === null && child.signalCode === null) this.#killed = true;
    this.#untrack();
    this.#sandbox.kill();
    // A file that never ran, or was interrupted: its scratch folder goes once nothing can write there any more.
    const scratch = this.#plan.snapshots;
    if (scratch) void this.#sandbox.exited.then(() => undefined, () => undefined).then(() => settleScratch(scratch, false, 'none'));
  }

  get running(): boolean {
    return this.#running;
  }
}
