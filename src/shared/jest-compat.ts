// Jest 29 and 30 side by side. Every call this package makes into an API
// whose shape could differ between the Jest majors it supports goes through
// here, so that the runner, the child and the planner stay version-free, and
// a new major is one file to read.
//
// Read in both versions' sources (29.7.0 and 30.5.2) and tried with
// fixtures/jest29 (see the e2e test jest29.test.ts):
// - jest-resolve's `preloadResolver` (30.5 and later) must run before a
//   custom `resolver` is used; 29 has none and needs none.
// - jest-runner's TestRunner takes `runnerOptions` as a third constructor
//   argument from 30.4.1 (runner tuples); 29 has neither. We never pass any.
// - The `test-case-result` event carries an AssertionResult in 29 and a
//   TestCaseResult (the same plus `startedAt`) in 30; TestResult.perfStats
//   gained fields in 30. Both are relayed as they are, never rebuilt.
// - Jest 30 ships webpack bundles, so deep imports of files inside a package
//   break between minors: only package entry points are used.
// The same in both, and relied on: TestRunner's emitter API and its five
// events, `HasteMap.getStatic(config).getModuleMapFromJSON`,
// `Runtime.createResolver(config, moduleMap)`, jest-docblock's
// extract/parse, jest-resolve's `resolveTestEnvironment`, jest-snapshot's
// async `buildSnapshotResolver(config)`, and the environment's
// `(config, context)` constructor (since 28).
//
// The types are Jest 30's (the devDependencies); for everything used here
// Jest 29's are the same shape.
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '@jest/types';
import type TestRunnerClass from 'jest-runner';
import type { SerializableModuleMap } from 'jest-haste-map';
import { SandboxError } from './errors';
import { jestModules, packageRoot } from './jest-modules';
import type { JestModulePaths } from './jest-protocol';

/** The Jest majors this package runs with: the peer range in package.json says the same. */
export const SUPPORTED_JEST = '>=29';
const OLDEST_MAJOR = 29;

export type TestRunner = typeof TestRunnerClass;
export type TestContext = Parameters<TestRunnerClass['runTests']>[0][number]['context'];
export type Pragmas = Record<string, string | string[]>;

type RuntimeModule = typeof import('jest-runtime');
type HasteMapModule = typeof import('jest-haste-map');
type ResolveModule = {
  /** 30.5 and later only. */
  preloadResolver?: (resolver: string | null | undefined) => Promise<void>;
  resolveTestEnvironment(options: { rootDir: string; testEnvironment: string; requireResolveFunction: (id: string) => string }): string;
};
type DocblockModule = { extract(contents: string): string; parse(docblock: string): Pragmas };
type SnapshotModule = { buildSnapshotResolver(config: Config.ProjectConfig): Promise<{ resolveSnapshotPath(testPath: string): string }> };

/** jest-runner's default export, the runner Jest itself uses. */
export function loadTestRunner(jestRunner: string): TestRunner {
  return (require(jestRunner) as { default: TestRunner }).default;
}

/**
 * In the child: the TestRunner and the test context, with the resolver
 * rebuilt from the module map the parent crawled, as jest-runner's own
 * worker does.
 */
export async function loadChildJest(modules: JestModulePaths, config: Config.ProjectConfig, moduleMap: SerializableModuleMap): Promise<{ TestRunner: TestRunner; context: TestContext }> {
  const TestRunner = loadTestRunner(modules.jestRunner);
  const Runtime = (require(modules.jestRuntime) as RuntimeModule).default;
  const HasteMap = (require(modules.jestHasteMap) as HasteMapModule).default;
  const { preloadResolver } = require(modules.jestResolve) as ResolveModule;
  const map = HasteMap.getStatic(config).getModuleMapFromJSON(moduleMap);
  if (typeof preloadResolver === 'function') await preloadResolver(config.resolver);
  const resolver = Runtime.createResolver(config, map);
  return { TestRunner, context: { config, moduleMap: map, resolver } as unknown as TestContext };
}

/** The docblock pragmas of a test file's source, parsed as Jest's runTest does. */
export function pragmasOfSource(source: string): Pragmas {
  const docblock = require(jestModules().jestDocblock) as DocblockModule;
  return docblock.parse(docblock.extract(source));
}

/** A `@jest-environment` pragma resolved to a module path, as Jest's runTest does. */
export function resolveEnvironment(rootDir: string, testEnvironment: string): string {
  const { resolveTestEnvironment } = require(jestModules().jestResolve) as ResolveModule;
  return resolveTestEnvironment({ rootDir, testEnvironment, requireResolveFunction: require.resolve });
}

/** The project's snapshot resolver (a custom `snapshotResolver` included). */
export function buildSnapshotResolver(config: Config.ProjectConfig): Promise<{ resolveSnapshotPath(testPath: string): string }> {
  return (require(jestModules().jestSnapshot) as SnapshotModule).buildSnapshotResolver(config);
}

export interface InstalledPackage {
  name: string;
  version: string;
  dir: string;
}

function majorOf(version: string): number | undefined {
  const match = /^(\d+)\./.exec(version);
  return match ? Number(match[1]) : undefined;
}

/**
 * The one version check. `runner` is the jest-runner Jest drives us with
 * (its version is Jest's: the monorepo releases them together),
 * `environment` the jest-environment-node our environment extends. Refuses
 * a Jest older than 29, and an environment of another major than the
 * runner's, which breaks inside Jest (jestjs/jest#15519). An unreadable
 * version is let through: Jest itself then reports what breaks.
 */
export function checkJestVersions(runner: InstalledPackage, environment: InstalledPackage): SandboxError | undefined {
  const jestMajor = majorOf(runner.version);
  if (jestMajor !== undefined && jestMajor < OLDEST_MAJOR) {
    return new SandboxError('config',
      `Jest ${runner.version} is installed (${runner.name} in ${runner.dir}), but jest-environment-mount-sandbox supports Jest ${SUPPORTED_JEST} (29 and 30 are tested), so no sandboxed file was run`,
      { hint: 'upgrade Jest, e.g. `npm install --save-dev jest@30 jest-environment-node@30`' });
  }
  const environmentMajor = majorOf(environment.version);
  if (jestMajor !== undefined && environmentMajor !== undefined && environmentMajor !== jestMajor) {
    return new SandboxError('config',
      `${environment.name} ${environment.version} (in ${environment.dir}) does not belong to the installed Jest ${runner.version} (${runner.name} in ${runner.dir}); the sandbox's environment extends it, and a second major of Jest's packages breaks inside Jest, so no sandboxed file was run`,
      { hint: `install the ${environment.name} of your Jest: \`npm install --save-dev ${environment.name}@${jestMajor}\`` });
  }
  return undefined;
}

function installed(name: string, manifest: string): InstalledPackage {
  const { version } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: unknown };
  return { name, version: typeof version === 'string' ? version : 'of unknown version', dir: path.dirname(manifest) };
}

let checked: SandboxError | null | undefined;

/** Throws unless the installed Jest is one this package supports; the result is kept for the run. */
export function assertSupportedJest(): void {
  if (checked === undefined) {
    const runner = installed('jest-runner', path.join(packageRoot(jestModules().jestRunner), 'package.json'));
    // The copy environment.ts extends: the one jest-config itself depends on.
    const environment = installed('jest-environment-node', path.join(packageRoot(jestModules().jestEnvironmentNode), 'package.json'));
    checked = checkJestVersions(runner, environment) ?? null;
  }
  if (checked !== null) throw checked;
}
