// Runs inside the sandbox: one test file through Jest's own TestRunner, in
// band, with the resolver rebuilt from the module map the parent crawled.
// Everything Jest does per file (setupFiles, the environment, transforms,
// snapshots, coverage, console capture) therefore happens in here.
//
// Two steps: `prepare` loads Jest while the sandbox waits for a free slot,
// `run` runs the file.
import path from 'node:path';
import type { TestEvents } from '@jest/test-result';
import type TestRunnerClass from 'jest-runner';
import { cpuMs, debug } from '../shared/debug';
import { flushCompileCache, installCompileCache } from './compile-cache';
import { loadChildJest, type TestContext as Context } from '../shared/jest-compat';
import { installLazyTransforms, lazyTransformStats } from './lazy-transform';
import { loadedPackages } from './loaded-packages';
import { flushVmCodeCache, installVmCodeCache, vmCodeCacheStats } from './vm-code-cache';
import { CHILD_MARKER, toSerializableError, type ChildMessage, type ParentMessage, type PrepareRequest, type RunRequest } from '../shared/jest-protocol';
import { openChildChannel } from './child-channel';

const started = performance.now();
const exit = process.exit.bind(process);
// Before Jest or any module of the project loads: the channel is taken while no test code can reach it.
const channel = openChildChannel();

function post(message: ChildMessage): Promise<void> {
  return 'post' in channel ? channel.post(message) : Promise.resolve();
}

interface Prepared {
  request: PrepareRequest;
  TestRunner: typeof TestRunnerClass;
  context: Context;
}

/** Modules every test file of this project will load; requiring them now moves their cost before the slot opens. */
function warmModules(request: PrepareRequest, lazyTransforms: boolean): void {
  const { config } = request;
  // Lazy transformers load only on a transform-cache miss: that is their whole point.
  const candidates = [config.testRunner, config.testEnvironment, ...(lazyTransforms ? [] : config.transform.map(([, transformer]) => transformer))];
  for (const candidate of candidates) {
    try {
      require(candidate);
    } catch {
      // Jest loads it again later and reports a failure in its own words.
    }
  }
}

async function prepare(request: PrepareRequest): Promise<Prepared> {
  // MOUNT_SANDBOX_COMPILE_CACHE=0 turns it off, to measure what it saves (bench/).
  if (process.env.MOUNT_SANDBOX_COMPILE_CACHE !== '0') installCompileCache(path.join(request.config.cacheDirectory, 'mount-sandbox-v8'));
  // MOUNT_SANDBOX_VM_CODE_CACHE=0 likewise. Not with v8 coverage: V8 reports it against the compiled source, which must be compileFunction's.
  const v8Coverage = request.globalConfig.collectCoverage && request.globalConfig.coverageProvider === 'v8';
  if (process.env.MOUNT_SANDBOX_VM_CODE_CACHE !== '0' && !v8Coverage) installVmCodeCache(path.join(request.config.cacheDirectory, 'mount-sandbox-vm'));
  const { TestRunner, context } = await loadChildJest(request.modules, request.config, request.moduleMap);
  const { transformKeys } = request;
  const lazyTransforms = transformKeys?.lazy === true
    && await installLazyTransforms(require.resolve('@jest/transform', { paths: [path.dirname(request.modules.jestRuntime)] }), transformKeys);
  warmModules(request, lazyTransforms);
  await post({ type: 'loaded', loadMs: performance.now() - started, cpuMs: cpuMs() });
  return { request, TestRunner, context };
}

async function runFile(prepared: Prepared, request: RunRequest): Promise<void> {
  const { TestRunner, context } = prepared;
  const runner = new TestRunner(prepared.request.globalConfig, {
    ...(request.changedFiles ? { changedFiles: new Set(request.changedFiles) } : {}),
    ...(request.sourcesRelatedToTestsInChangedFiles ? { sourcesRelatedToTestsInChangedFiles: new Set(request.sourcesRelatedToTestsInChangedFiles) } : {}),
  });

  let outcome: ChildMessage | undefined;
  runner.on('test-file-start', () => {
    // The in-band runner forces '1'; Jest's environment copies process.env after this.
    process.env.JEST_WORKER_ID = String(request.workerId);
  });
  runner.on('test-case-start', (args: TestEvents['test-case-start']) => post({ type: 'test-case-start', args }));
  runner.on('test-case-result', ([testPath, result]: TestEvents['test-case-result']) => post({ type: 'test-case-result', args: [testPath, result] }));
  runner.on('test-file-success', ([, result]: TestEvents['test-file-success']) => {
    const usage = process.resourceUsage();
    outcome = { type: 'result', result, stats: { maxRss: usage.maxRSS * 1024, cpuMs: cpuMs(), pageFaults: usage.minorPageFault } };
  });
  runner.on('test-file-failure', ([, error]: TestEvents['test-file-failure']) => {
    outcome = { type: 'failure', error: toSerializableError(error) };
  });

  const watcher = { isInterrupted: () => false, isWatchMode: () => false, on: () => () => undefined, setState: () => undefined } as unknown as Parameters<TestRunnerClass['runTests']>[1];
  await runner.runTests([{ path: request.testPath, context }], watcher, { serial: true });
  await post(outcome ?? { type: 'failure', error: toSerializableError(new Error('Jest finished the file without a result')) });
  flushCompileCache();
  flushVmCodeCache();
  if (vmCodeCacheStats.installed) debug(`vm code cache: ${vmCodeCacheStats.used} used, ${vmCodeCacheStats.rejected} rejected, ${vmCodeCacheStats.missing} missing`);
  const { installed, hits, misses, loaded } = lazyTransformStats;
  if (installed) debug(`transform keys from Jest's process: ${hits} hits, ${misses} misses; transformers loaded: ${loaded.length === 0 ? 'none' : loaded.join(', ')}`);
  debug(`packages loaded in the child: ${loadedPackages().join(', ')}`);
}

function main(): void {
  (globalThis as Record<symbol, unknown>)[CHILD_MARKER] = true;
  if ('missing' in channel) {
    process.stderr.write(`mount-sandbox: the Jest child must be started by the mount-sandbox runner, and ${channel.missing}\n`);
    return exit(2);
  }
  let prepared: Promise<Prepared> | undefined;
  const fail = async (error: unknown): Promise<void> => {
    await post({ type: 'failure', error: toSerializableError(error) });
    exit(1);
  };
  channel.listen({
    message: (message: ParentMessage) => {
      if (message.type === 'prepare' && prepared === undefined) {
        prepared = prepare(message);
        prepared.catch(fail);
      } else if (message.type === 'run' && prepared !== undefined) {
        prepared.then((ready) => runFile(ready, message)).then(() => exit(0), fail);
      }
    },
    // The runner is trusted: a frame of its own that does not decode is our bug.
    broken: (error) => void fail(error),
    // The parent is gone (--bail called exit()), or a test closed the channel: nothing is left to report to.
    closed: () => {
      process.stderr.write('mount-sandbox: the channel to the runner closed (the run ended, or a test closed it); exiting\n');
      exit(1);
    },
  });
}

main();
