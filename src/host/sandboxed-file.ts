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
import type { Duplex } from 'node:stream';
import { debug, debugEnabled } from '../shared/debug';
import { formatError, isSandboxError, SandboxError } from '../shared/errors';
import { SandboxProcess, type ExitStatus, type SetupReport } from './launcher';
import { CHANNEL_FD, type Tools } from '../shared/sandbox-protocol';
import type { HostView } from './defaults';
import { isUnder } from '../shared/paths';
import type { IsolationMode } from '../shared/spec';
import { JEST_DEFAULT_PROJECT, planTestFile, type FilePlan } from './file-plan';
import { projectMount, rebuildBinds } from './mount-roles';
import { jestModules } from '../shared/jest-modules';
import type { OnceLines } from './output-dedupe';
import { settleScratch } from './snapshot-scratch';
import { transformKeysFor, type TransformKeys } from './transform-keys';
import { toSerializableError, type ChildMessage, type ChildStats, type PrepareRequest, type RunRequest } from '../shared/jest-protocol';
import { RunnerChannel } from './channel';
import { FileFailure } from './file-failure';
import { FileLifecycle, describeState, type FileState } from './file-lifecycle';
import { ResultGuard, type CaseEvent } from './result-guard';

const CHILD_SCRIPT = path.join(__dirname, '..', 'inside', 'child.js');
/** Ten minutes: far beyond any sane test file, short of a CI job's own limit. */
const DEFAULT_FILE_TIMEOUT = 600_000;
/** How much of a crashed child's output a failure message quotes. */
const OUTPUT_TAIL = 4000;
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
}

/** Why the runner killed a sandbox itself: that, not whatever the child reported, is the file's failure. */
type KillReason = { kind: 'channel'; reason: string } | { kind: 'timeout'; limit: number };

function now(): number {
  return performance.timeOrigin + performance.now();
}

function childExecArgv(globalConfig: Config.GlobalConfig): string[] {
  // Like jest-worker: a debugger flag would make every child wait on the same port.
  const argv = process.execArgv.filter((arg) => !/^--(inspect|debug)/.test(arg));
  if ((globalConfig.detectLeaks || globalConfig.logHeapUsage) && !argv.includes('--expose-gc')) argv.push('--expose-gc');
  return argv;
}

/**
 * The child's CPU by phase, and its page faults, from what it reported
 * (debug output, so a forged number only misleads its own line): Node's
 * start with the sandbox setup, loading Jest, and running the file. In the
 * init chain the setup is the init's, a Node process of its own, and the
 * test's Node starts afresh.
 */
function cpuSplit(oneNode: boolean, setup: number | undefined, loaded: number | undefined, stats: ChildStats | undefined): string {
  const finite = (value: number | undefined): value is number => typeof value === 'number' && Number.isFinite(value);
  const ended = stats?.cpuMs;
  const faults = finite(stats?.pageFaults) ? `, ${stats.pageFaults.toFixed(0)} page faults` : '';
  if (!finite(setup) || !finite(loaded) || !finite(ended)) return faults;
  const load = oneNode ? `load Jest ${(loaded - setup).toFixed(0)} ms` : `child start+load Jest ${loaded.toFixed(0)} ms`;
  return `, CPU setup ${setup.toFixed(0)} ms, ${load}, run ${(ended - loaded).toFixed(0)} ms${faults}`;
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
  const project = projectMount(plan.spec);
  const fellBack = plan.options.project === undefined && project?.type === 'overlay' && project.skipOverlay !== undefined;
  const options = { ...plan.options, project: plan.options.project ?? (fellBack ? 'readonly' : JEST_DEFAULT_PROJECT.mode) };
  const writable = rebuildBinds(plan.spec);
  const snapshots = plan.snapshots?.realDir;
  const overlaySnapshots = snapshots !== undefined && !(options.project === 'overlay' && isUnder(snapshots, fs.realpathSync(config.rootDir)));
  const words = [
    'mount-sandbox', 'run', '--project', config.rootDir, '--cwd', plan.spec.cwd, '--config-json', JSON.stringify(options),
    ...writable.flatMap((op) => ['--bind', `${op.source}:${op.dest}`]),
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

function describeExit(status: ExitStatus, raw: string, state: FileState): SerializableError {
  const initKilled = status.code === 1 && INIT_KILLED.test(raw);
  const output = raw.replace(INIT_KILLED, '');
  const signal = initKilled ? 'SIGKILL' : status.signal ?? signalOfExitCode(status.code);
  const how = initKilled ? 'was killed by SIGKILL (the sandbox\'s init died)' : signal ? `was killed by ${signal} (exit status ${status.code})` : `exited with code ${status.code}`;
  const hint = signal === 'SIGKILL' ? ' (out of memory, or killed from outside)' : '';
  const printed = output.trim() === '' ? ' It printed nothing.' : ` Its last output:\n${output.trimEnd()}`;
  return {
    message: `mount-sandbox: the sandboxed test process ${how}${hint} ${describeState(state)}, before reporting a result, e.g. through process.exit() or a crash.${printed}`,
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

/**
 * One test file, from the launch of its sandbox to its result. Its state
 * changes only through the lifecycle's table (file-lifecycle.ts): the
 * status pipe says the child was exec'd, the child says Jest is loaded,
 * `run()` hands it the file, and its end, or `dispose()`, finishes it.
 */
export class SandboxedFile {
  readonly #test: Test;
  readonly #ctx: FileRunContext;
  readonly #plan: FilePlan;
  readonly #sandbox: SandboxProcess;
  readonly #channel: RunnerChannel;
  readonly #guard: ResultGuard;
  readonly #life = new FileLifecycle();
  /** Settles once the process has ended and everything it wrote has been read, and the lifecycle knows how it ended. */
  readonly #gone: Promise<void>;
  /** The file, once the runner has handed it over; the child runs it as soon as Jest is loaded. */
  #request: RunRequest | undefined;
  #killedFor: KillReason | undefined;
  #exit: ExitStatus | Error | undefined;
  #output = '';
  #outcome: Extract<ChildMessage, { type: 'result' | 'failure' }> | undefined;
  #relay = Promise.resolve();
  #loadedAt: number | undefined;
  /** The child's CPU time once Jest was loaded, as it reported it (debug output only). */
  #loadedCpuMs: number | undefined;
  #assignedAt: number | undefined;

  private constructor(test: Test, ctx: FileRunContext, plan: FilePlan, env: Record<string, string>, transformKeys: TransformKeys | undefined) {
    this.#test = test;
    this.#ctx = ctx;
    this.#plan = plan;
    this.#guard = new ResultGuard({
      testPath: test.path,
      config: test.context.config,
      globalConfig: ctx.globalConfig,
      runnerContext: ctx.runnerContext,
      hidden: plan.spec.mounts.filter((op) => op.type === 'hide').map((op) => op.dest),
      sandboxCache: plan.cacheDirectory,
    });
    this.#sandbox = new SandboxProcess({
      spec: { ...plan.spec, env },
      command: [process.execPath, ...childExecArgv(ctx.globalConfig), CHILD_SCRIPT],
      mode: ctx.mode,
      tools: ctx.tools,
      stdio: 'pipe',
      channel: true,
    });
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
    this.#channel = new RunnerChannel(this.#sandbox.child.stdio[CHANNEL_FD] as Duplex, {
      message: (raw) => this.#receive(raw),
      broken: (reason) => this.#kill({ kind: 'channel', reason }),
    });
    // A setup failure is read from the same promise when the file reports.
    const execed = this.#sandbox.ready.then(() => {
      this.#life.fire('exec');
    }, () => undefined);
    // 'close' follows 'exit' once every stdio stream, the channel's included, has ended: nothing the child wrote is left
    // unread. The status pipe has ended by then too, so a crash is placed in the state the status had reached.
    const closed = new Promise<void>((resolve) => this.#sandbox.child.once('close', () => resolve()));
    this.#gone = this.#sandbox.exited.then(
      (status) => Promise.all([closed, execed]).then(() => this.#end(status)),
      (error: unknown) => this.#end(error instanceof Error ? error : new Error(String(error))),
    );
    // run() awaits it and sees a rejection (a bug of ours); a file that is never run must not make it an unhandled one.
    this.#gone.catch(() => undefined);
    const config = { ...test.context.config, cacheDirectory: plan.cacheDirectory };
    const prepare: PrepareRequest = { type: 'prepare', globalConfig: ctx.globalConfig, config, moduleMap: ctx.moduleMap, modules: jestModules(), ...(transformKeys ? { transformKeys } : {}) };
    this.#channel.send(prepare);
  }

  /** Plans and launches; bad options fail here, before anything is launched. */
  static async launch(test: Test, ctx: FileRunContext): Promise<SandboxedFile> {
    const plan = await planTestFile(test, ctx.globalConfig, ctx.tools, ctx.host);
    for (const dir of plan.createdDirs) ctx.createdDirs.add(dir);
    try {
      const env: Record<string, string> = { ...plan.spec.env };
      // Jest run under a Node parent inherits that parent's IPC variables: the node inside would adopt the channel's fd as Node IPC.
      delete env.NODE_CHANNEL_FD;
      delete env.NODE_CHANNEL_SERIALIZATION_MODE;
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
   * Test code can write to the channel, so anything may arrive here: only
   * well-formed messages count, the first outcome wins, events and results
   * count only while the file runs and only ever describe this file, and a
   * reporter that chokes on forged event data fails this file rather than
   * the run.
   */
  #receive(raw: unknown): void {
    const message = parseChildMessage(raw);
    if (message === undefined || this.#outcome !== undefined) return;
    switch (message.type) {
      case 'loaded':
        this.#loadedAt ??= now();
        this.#loadedCpuMs ??= message.cpuMs;
        this.#life.fire('loaded');
        // Handed over already: the child starts the file the moment Jest is loaded.
        if (this.#request !== undefined && this.#life.state === 'ready') this.#life.fire('run');
        return;
      case 'test-case-start':
      case 'test-case-result':
        if (this.#life.state === 'running' && message.args[0] === this.#test.path) this.#relayCaseEvent(message.type, message.args[1]);
        return;
      case 'result':
        // Before the child had its file, a result cannot be about it.
        if (this.#life.state === 'running') this.#outcome = message;
        return;
      case 'failure':
        // Also before the file ran: the child could not load Jest, and says why.
        this.#outcome = message;
        return;
    }
  }

  #relayCaseEvent(name: CaseEvent, info: unknown): void {
    let args: TestEvents[typeof name];
    try {
      args = this.#guard.caseEvent(name, info);
    } catch (error) {
      this.#outcome = { type: 'failure', error: toSerializableError(new Error(`mount-sandbox: the sandbox sent a malformed ${name} event for ${this.#test.path}: ${error instanceof Error ? error.message : String(error)}`)) };
      return;
    }
    this.#relay = this.#relay.then(() => this.#ctx.emit(name, args)).catch((error: unknown) => {
      this.#outcome ??= { type: 'failure', error: toSerializableError(new Error(`mount-sandbox: a ${name} event from the sandbox could not be reported: ${error instanceof Error ? error.message : String(error)}`)) };
    });
  }

  /** Ends the sandbox for a reason of the runner's own, which becomes the file's failure. */
  #kill(reason: KillReason): void {
    this.#killedFor ??= reason;
    this.#sandbox.kill();
  }

  /** The process is gone: it finished if it reported while running, and died otherwise. */
  #end(exit: ExitStatus | Error): void {
    this.#exit = exit;
    const reported = this.#life.state === 'running' && this.#outcome !== undefined && this.#killedFor === undefined && !(exit instanceof Error);
    this.#life.fire(reported ? 'finish' : 'die');
  }

  async run(workerId: number): Promise<TestResult> {
    if (this.#request !== undefined) throw new SandboxError('internal', `${this.#test.path} was handed to its sandbox twice`);
    const { runnerContext } = this.#ctx;
    this.#assignedAt = now();
    this.#request = {
      type: 'run',
      testPath: this.#test.path,
      workerId,
      ...(runnerContext.changedFiles ? { changedFiles: [...runnerContext.changedFiles] } : {}),
      ...(runnerContext.sourcesRelatedToTestsInChangedFiles ? { sourcesRelatedToTestsInChangedFiles: [...runnerContext.sourcesRelatedToTestsInChangedFiles] } : {}),
    };
    // Sent at once, whatever the state: the child chains it on loading Jest, so no round trip is lost.
    this.#channel.send(this.#request);
    this.#life.fire('run');
    const limit = this.#plan.options.fileTimeout ?? DEFAULT_FILE_TIMEOUT;
    // Jest's testTimeout is a timer, which a synchronous loop never lets fire: only killing the sandbox ends it.
    const watchdog = limit > 0 ? setTimeout(() => this.#kill({ kind: 'timeout', limit }), limit) : undefined;
    let result: TestResult | undefined;
    try {
      await this.#gone;
      clearTimeout(watchdog);
      const report: SetupReport | Error = await this.#sandbox.ready.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      await this.#relay;
      if (!(report instanceof Error)) this.#noticeFallbacks(report);
      this.#debugTimings(report instanceof Error ? undefined : report);
      return (result = this.#resultOrThrow(report));
    } finally {
      clearTimeout(watchdog);
      this.dispose();
      // Jest saved its snapshots before the child sent the result; after a kill, a .snap may be half written.
      // A snapshot Jest wrote that did not reach the host fails the file (a throw here replaces the return).
      const problem = this.#settleSnapshots(result !== undefined && this.#life.state === 'exited');
      if (problem !== undefined && result !== undefined) throw FileFailure.of(problem);
    }
  }

  /** How the file ended, as Jest's result or as the failure that says what happened, and in which state. */
  #resultOrThrow(report: SetupReport | Error): TestResult {
    const { state, endedIn = state } = this.#life;
    const outcome = this.#outcome;
    if (state === 'exited' && outcome?.type === 'result') return this.#guard.result(outcome.result);
    if (state === 'disposed') throw FileFailure.of(`mount-sandbox: ${this.#test.path} was ended by the runner ${describeState(endedIn)} (the run was interrupted or is over)`);
    const killed = this.#killedFor;
    if (killed?.kind === 'timeout') {
      throw FileFailure.of(`mount-sandbox: the test file did not finish within ${killed.limit} ms (testEnvironmentOptions.sandbox.fileTimeout), so its sandbox was killed ${describeState(endedIn)}; a synchronous endless loop is the usual cause, which Jest's testTimeout cannot interrupt.${this.#output.trim() ? ` Its last output:\n${this.#output.trimEnd()}` : ''}`);
    }
    if (killed?.kind === 'channel') {
      throw FileFailure.of(`mount-sandbox: the sandboxed test process sent ${killed.reason} on its channel to the runner, so its sandbox was killed ${describeState(endedIn)} and ${this.#test.path} fails; a test (or code it loads) wrote to the runner's channel descriptor`);
    }
    if (outcome?.type === 'failure') throw new FileFailure(this.#guard.failure(outcome.error));
    if (this.#exit instanceof Error) throw this.#exit;
    if (report instanceof Error) {
      // A setup or host failure names the step, the syscall and the fix: the runner's own frames would only bury it.
      // Our own bug keeps its stack, for the report.
      if (isSandboxError(report) && report.kind !== 'internal') throw FileFailure.of(formatError(report));
      throw new FileFailure(toSerializableError(new Error(formatError(report))));
    }
    if (this.#exit === undefined) throw new SandboxError('internal', `${this.#test.path} ended in state "${state}" without an exit status`);
    throw new FileFailure(describeExit(this.#exit, this.#output, endedIn));
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

  #noticeFallbacks(report: SetupReport): void {
    // Only the default project falls back to read-only: one asked for as an overlay fails instead.
    const project = projectMount(this.#plan.spec);
    if (project?.type === 'overlay' && report.overlays[project.dest] === 'ro-bind') {
      const why = project.skipOverlay ?? 'overlayfs is refused in a user namespace here (it needs Linux >= 5.11)';
      this.#ctx.notice('overlay-fallback', `${why}, so the project is read-only instead of a discarded overlay; set testEnvironmentOptions.sandbox.project to "readonly" to silence this`);
    }
  }

  #debugTimings(report: SetupReport | undefined): void {
    if (!debugEnabled()) return;
    const end = now();
    const t = report?.timings;
    const loaded = this.#loadedAt;
    const startedAt = this.#assignedAt ?? end;
    const stats = this.#outcome?.type === 'result' ? this.#outcome.stats : undefined;
    debug(`${path.relative(process.cwd(), this.#test.path)}: ` + (t
      ? `launch→init ${(t.initStartedAt - this.#sandbox.launchedAt).toFixed(0)} ms, mounts ${t.mountMs.toFixed(1)} ms, ` +
        `init→exec ${(t.execAt - t.initStartedAt).toFixed(0)} ms, child start+load Jest ${loaded ? (loaded - t.execAt).toFixed(0) : '?'} ms, ` +
        `waited for a slot ${loaded ? Math.max(0, startedAt - loaded).toFixed(0) : '?'} ms, run ${(end - Math.max(startedAt, loaded ?? startedAt)).toFixed(0)} ms, `
      : '') + `total ${(end - this.#sandbox.launchedAt).toFixed(0)} ms, ended ${this.#life.state} ${describeState(this.#life.endedIn ?? this.#life.state)}` +
      (stats ? `, child peak RSS ${(stats.maxRss / 1024 ** 2).toFixed(1)} MB` : '') +
      cpuSplit(this.#sandbox.chain.chain === 'one-node', t?.cpuMs, this.#loadedCpuMs, stats) +
      `, ${this.#sandbox.chain.chain === 'one-node' ? 'one Node process' : `init chain (${this.#sandbox.chain.why})`}`);
  }

  /** Ends the sandbox and everything in it, whatever state it is in; safe to call twice. */
  dispose(): void {
    this.#life.fire('dispose');
    this.#sandbox.kill();
    this.#channel.close();
    // A file that never ran, or was interrupted: its scratch folder goes once nothing can write there any more.
    const scratch = this.#plan.snapshots;
    if (scratch) void this.#gone.then(() => undefined, () => undefined).then(() => settleScratch(scratch, false, 'none'));
  }
}
