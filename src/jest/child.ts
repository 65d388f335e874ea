// Runs inside the sandbox: one test file through Jest's own TestRunner, in
// band, with the resolver rebuilt from the module map the parent crawled.
// Everything Jest does per file (setupFiles, the environment, transforms,
// snapshots, coverage, console capture) therefore happens in here.
import type { TestEvents } from '@jest/test-result';
import type TestRunnerClass from 'jest-runner';
import { CHILD_MARKER, toSerializableError, type ChildMessage, type RunRequest } from './protocol';

type TestRunnerModule = { default: typeof TestRunnerClass };
type RuntimeModule = typeof import('jest-runtime');
type HasteMapModule = typeof import('jest-haste-map');
type ResolveModule = { preloadResolver?: (resolver: string | null | undefined) => Promise<void> };

const started = performance.now();
const send = process.send?.bind(process);
const exit = process.exit.bind(process);

function post(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!send) return resolve();
    try {
      send(message, undefined, {}, () => resolve());
    } catch (error) {
      // Structured clone refuses some values (functions in a custom result);
      // JSON drops them rather than the whole result.
      if (error instanceof Error && error.name === 'DataCloneError') {
        send(JSON.parse(JSON.stringify(message)) as ChildMessage, undefined, {}, () => resolve());
      } else {
        throw error;
      }
    }
  });
}

async function runFile(request: RunRequest): Promise<void> {
  const { default: TestRunner } = require(request.modules.jestRunner) as TestRunnerModule;
  const Runtime = (require(request.modules.jestRuntime) as RuntimeModule).default;
  const HasteMap = (require(request.modules.jestHasteMap) as HasteMapModule).default;
  const { preloadResolver } = require(request.modules.jestResolve) as ResolveModule;
  await post({ type: 'loaded', loadMs: performance.now() - started });

  const { config, globalConfig } = request;
  const moduleMap = HasteMap.getStatic(config).getModuleMapFromJSON(request.moduleMap);
  if (typeof preloadResolver === 'function') await preloadResolver(config.resolver);
  const resolver = Runtime.createResolver(config, moduleMap);
  const runner = new TestRunner(globalConfig, {
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
    outcome = { type: 'result', result };
  });
  runner.on('test-file-failure', ([, error]: TestEvents['test-file-failure']) => {
    outcome = { type: 'failure', error: toSerializableError(error) };
  });

  const context = { config, moduleMap, resolver } as unknown as Parameters<TestRunnerClass['runTests']>[0][number]['context'];
  const watcher = { isInterrupted: () => false, isWatchMode: () => false, on: () => () => undefined, setState: () => undefined } as unknown as Parameters<TestRunnerClass['runTests']>[1];
  await runner.runTests([{ path: request.testPath, context }], watcher, { serial: true });
  await post(outcome ?? { type: 'failure', error: toSerializableError(new Error('Jest finished the file without a result')) });
}

function main(): void {
  (globalThis as Record<symbol, unknown>)[CHILD_MARKER] = true;
  if (!send) {
    process.stderr.write('mount-sandbox: the Jest child must be started by the mount-sandbox runner\n');
    exit(2);
  }
  // The parent is gone (e.g. --bail called exit()): nothing is left to report to.
  process.on('disconnect', () => exit(130));
  process.once('message', (request: RunRequest) => {
    runFile(request).then(
      () => exit(0),
      async (error: unknown) => {
        await post({ type: 'failure', error: toSerializableError(error) });
        exit(1);
      },
    );
  });
}

main();
