// The Jest runner (Jest's process). Files whose environment is mount-sandbox
// each run in a freshly launched sandbox; every other file goes to Jest's
// own runner, untouched. Emits the same events as jest-runner, so reporters
// cannot tell the difference.
import type { SerializableError, Test, TestEvents } from '@jest/test-result';
import type { Config } from '@jest/types';
import type { TestRunnerContext, TestRunnerOptions, TestWatcher, UnsubscribeFn } from 'jest-runner';
import fs from 'node:fs';
import os from 'node:os';
import { formatError } from '../shared/errors';
import { startRun } from './parsed-text';
import { detectHostSupport, type HostSupport } from './host-support';
import { nodeModulesCachingHost } from './host-view';
import { findTools } from './tools';
import { isSandboxed } from './file-plan';
import { assertSupportedJest, loadTestRunner } from '../shared/jest-compat';
import { jestModules } from '../shared/jest-modules';
import { OnceLines } from './output-dedupe';
import { toSerializableError } from '../shared/jest-protocol';
import { FileFailure } from './file-failure';
import { SandboxPool } from './sandbox-pool';
import { SandboxedFile, type FileRunContext } from './sandboxed-file';
import { ALLOW_SWITCH, splitUnsandboxed } from './unsandboxed';

type EventName = keyof TestEvents;
type Listener<Name extends EventName> = (data: TestEvents[Name]) => void | Promise<void>;
const EVENTS: EventName[] = ['test-file-start', 'test-file-success', 'test-file-failure', 'test-case-start', 'test-case-result'];

/** Jest awaits its listeners (emittery); so do we, to keep reporters in order. */
class Events {
  readonly #listeners = new Map<EventName, Set<Listener<EventName>>>();

  on<Name extends EventName>(name: Name, listener: Listener<Name>): UnsubscribeFn {
    const set = this.#listeners.get(name) ?? new Set();
    this.#listeners.set(name, set);
    set.add(listener as Listener<EventName>);
    return () => set.delete(listener as Listener<EventName>);
  }

  async emit<Name extends EventName>(name: Name, data: TestEvents[Name]): Promise<void> {
    for (const listener of [...(this.#listeners.get(name) ?? [])]) await listener(data);
  }
}

function failureOf(error: unknown): SerializableError {
  if (error instanceof FileFailure) return error.serializable;
  return toSerializableError(new Error(formatError(error)));
}

export default class MountSandboxRunner {
  readonly supportsEventEmitters = true as const;
  readonly isSerial = false;
  readonly #globalConfig: Config.GlobalConfig;
  readonly #context: TestRunnerContext;
  readonly #events = new Events();

  constructor(globalConfig: Config.GlobalConfig, context: TestRunnerContext = {}) {
    this.#globalConfig = globalConfig;
    this.#context = context;
  }

  on<Name extends EventName>(name: Name, listener: Listener<Name>): UnsubscribeFn {
    return this.#events.on(name, listener);
  }

  async runTests(tests: Test[], watcher: TestWatcher, options: TestRunnerOptions): Promise<void> {
    // Jest calls this once per run, watch mode included: what earlier runs kept is theirs.
    startRun();
    const sandboxed = tests.filter(isSandboxed);
    // Files that would run on the host only because a testEnvironment key overrides the preset's fail
    // here, before any of their code (setupFiles included) runs; see unsandboxed.ts.
    const { plain, refused } = splitUnsandboxed(tests.filter((test) => !sandboxed.includes(test)));
    for (const { test, error } of refused) {
      await this.#events.emit('test-file-start', [test]);
      await this.#events.emit('test-file-failure', [test, error]);
    }
    if (plain.length > 0) await this.#runWithJest(plain, watcher, options);
    if (sandboxed.length > 0) await this.#runSandboxed(sandboxed, watcher);
    if (sandboxed.length === 0 && plain.length > 0) {
      process.stderr.write(`mount-sandbox: no file of this run was sandboxed: ${plain.length} ran on the host, as their @jest-environment docblocks or ${ALLOW_SWITCH} ask.\n`);
    }
  }

  async #runWithJest(tests: Test[], watcher: TestWatcher, options: TestRunnerOptions): Promise<void> {
    const TestRunner = loadTestRunner(jestModules().jestRunner);
    const runner = new TestRunner(this.#globalConfig, this.#context);
    for (const name of EVENTS) runner.on(name, (data) => this.#events.emit(name, data));
    await runner.runTests(tests, watcher, options);
  }

  async #runSandboxed(tests: Test[], watcher: TestWatcher): Promise<void> {
    let support: HostSupport;
    let tools: ReturnType<typeof findTools>;
    try {
      assertSupportedJest();
      tools = findTools();
      support = detectHostSupport(tools);
    } catch (error) {
      // The host cannot sandbox at all: every file fails with the reason, none runs unsandboxed.
      for (const test of tests) {
        await this.#events.emit('test-file-start', [test]);
        await this.#events.emit('test-file-failure', [test, failureOf(error)]);
      }
      return;
    }
    if (support.note) process.stderr.write(`mount-sandbox: ${support.note}\n`);

    const moduleMaps = new Map<string, FileRunContext['moduleMap']>();
    const createdDirs = new Set<string>();
    const noticed = new Set<string>();
    const stderrOnce = new OnceLines();
    const host = nodeModulesCachingHost();
    const contextFor = (test: Test): FileRunContext => {
      const { config, moduleMap } = test.context;
      let serializable = moduleMaps.get(config.id);
      if (!serializable) {
        serializable = moduleMap.toJSON();
        moduleMaps.set(config.id, serializable);
      }
      return {
        globalConfig: this.#globalConfig,
        runnerContext: this.#context,
        tools,
        mode: support.mode,
        moduleMap: serializable,
        host,
        createdDirs,
        stderrOnce,
        notice: (key, line) => {
          if (noticed.has(key)) return;
          noticed.add(key);
          process.stderr.write(`mount-sandbox: ${line}\n`);
        },
        emit: (name, args) => this.#events.emit(name, args),
      };
    };

    // Each file has its own process anyway, so Jest's "run in band because the tests are fast" adds nothing;
    // an explicit --runInBand (or --detectOpenHandles) still means one file at a time.
    const concurrency = this.#globalConfig.runInBand || this.#globalConfig.detectOpenHandles ? 1 : Math.max(1, this.#globalConfig.maxWorkers);
    // Sandboxes launched ahead of a free slot: their Node starts and loads Jest while other files run.
    // MOUNT_SANDBOX_PRELAUNCH=0 turns it off, to measure what it saves (bench/).
    const lookahead = process.env.MOUNT_SANDBOX_PRELAUNCH === '0' ? 0 : Math.max(1, Math.min(concurrency, os.availableParallelism()));
    const pool = new SandboxPool(tests, (test: Test) => SandboxedFile.launch(test, contextFor(test)), lookahead);
    const stopOnInterrupt = watcher.on('change', (state: { interrupted?: boolean }) => {
      if (state.interrupted) pool.close();
    });
    const worker = async (workerId: number): Promise<void> => {
      while (!watcher.isInterrupted()) {
        const next = pool.take();
        if (next === undefined) return;
        pool.topUp();
        const { item: test, file } = next;
        await this.#events.emit('test-file-start', [test]);
        try {
          const result = await (await file).run(workerId);
          await this.#events.emit('test-file-success', [test, result]);
        } catch (error) {
          if (watcher.isInterrupted()) return;
          await this.#events.emit('test-file-failure', [test, failureOf(error)]);
        } finally {
          pool.release(test);
        }
      }
    };
    try {
      pool.topUp();
      await Promise.all(Array.from({ length: Math.min(concurrency, tests.length) }, (_, i) => worker(i + 1)));
    } finally {
      stopOnInterrupt();
      // Files launched ahead that no worker took (an interrupt, --bail), and any left by an error: none outlives the run.
      pool.close();
      for (const dir of createdDirs) {
        try {
          fs.rmdirSync(dir);
        } catch {
          // Not empty: Jest wrote snapshots there, which is what the folder was for.
        }
      }
    }
  }
}
