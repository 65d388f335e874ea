// Jest's process (the host side of the lever in lazy-transform.ts): the
// transform-cache keys of the files a sandboxed test file will most likely
// require, computed here, where Jest's transformer is warm, so that a
// sandbox whose files are all in the cache never loads the transformer
// (babel-jest alone pulls in all of @babel/core, 200-360 ms of CPU per file).
//
// Trust: the child sends nothing for this. The files are chosen here, from
// Jest's own haste map (the test file, the setup files, and what they import,
// transitively), each realpath-checked to lie under the project's roots, not
// in a folder the sandboxes write, and to be one Jest would transform; their
// contents are read here from the host. The child uses a key only for a file
// whose content hashes to what was read here, with the same options, config
// and environment.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type { Test } from '@jest/test-result';
import type { Config } from '@jest/types';
import type { TestRunnerContext } from 'jest-runner';
import { isUnder } from '../shared/paths';
import type { FilePlan } from './file-plan';
import { writesToHost } from './mount-roles';
import { jestModules } from '../shared/jest-modules';
import { CHILD_ONLY_VARS, envHash, optionsHash, sha1, shapeOf, type ScriptTransformerInternals, type TransformerShape, type TransformKeys } from '../shared/transform-key-format';

export type { TransformKeys } from '../shared/transform-key-format';


type TransformModule = {
  createScriptTransformer(config: Config.ProjectConfig): Promise<ScriptTransformerInternals>;
  shouldInstrument(filename: string, options: Record<string, unknown>, config: Config.ProjectConfig): boolean;
};

type HasteFS = { getDependencies(file: string): string[] | null };
type Resolver = {
  isCoreModule(name: string): boolean;
  resolveModule(from: string, name: string, options?: { conditions?: string[] }): string;
  getMockModule?(from: string, name: string): string | null;
};

/** How many files one test file may bring into the plan; beyond, the child computes keys itself. */
const MAX_FILES = 5000;


/** Jest's transformer strips a shebang before keying and transforming (keeping the line). */
function stripShebang(content: string): string {
  return content.startsWith('#!') ? content.replace(/^#!.*/, '') : content;
}

function transformModule(): TransformModule {
  const runtime = path.dirname(jestModules().jestRuntime);
  return require(require.resolve('@jest/transform', { paths: [runtime] })) as TransformModule;
}

interface Memo {
  mtimeMs: number;
  size: number;
  contentHash: string;
  optionsHash: string;
  key: string;
}

interface KeyMaker {
  transformer: ScriptTransformerInternals;
  lazy: boolean;
  shapes: TransformerShape[];
  configHash: string;
  roots: string[];
  /** Per file and env, for this run: the key made, valid while the file's stat and the options are unchanged. */
  memo: Map<string, Memo>;
}

/**
 * One transformer per Jest run, as jest-runner has fresh workers per run: a
 * transformer may cache its config in memory (ts-jest does), and a config
 * changed between watch runs must give new keys.
 */
const makersOfRun = new WeakMap<TestRunnerContext, Map<string, Promise<KeyMaker | undefined>>>();

function hasInternals(value: unknown): value is ScriptTransformerInternals {
  const t = value as Partial<ScriptTransformerInternals> | null;
  return typeof t?._getCacheKey === 'function' && typeof t._getTransformPatternAndPath === 'function'
    && typeof t.shouldTransform === 'function' && typeof t._cache?.configString === 'string';
}

async function keyMaker(config: Config.ProjectConfig, run: TestRunnerContext): Promise<KeyMaker | undefined> {
  const id = `${config.id}\0${config.cacheDirectory}`;
  const makers = makersOfRun.get(run) ?? new Map<string, Promise<KeyMaker | undefined>>();
  makersOfRun.set(run, makers);
  let maker = makers.get(id);
  if (!maker) {
    maker = (async () => {
      const transformer = await transformModule().createScriptTransformer(config);
      // Another Jest than the one this was written against: let the child do as Jest does.
      if (!hasInternals(transformer)) return undefined;
      const roots = config.roots.map((root) => {
        try {
          return fs.realpathSync(root);
        } catch {
          return path.resolve(root);
        }
      });
      const shapes = config.transform.map(([, modulePath, options]) => shapeIfLazy(modulePath, options));
      const lazy = shapes.every((shape) => shape !== undefined);
      return { transformer, lazy, shapes: lazy ? (shapes as TransformerShape[]) : [], configHash: sha1(transformer._cache.configString), roots, memo: new Map() };
    })().catch(() => undefined);
    makers.set(id, maker);
  }
  return maker;
}

/**
 * What the child's stand-in must answer for this transformer without loading
 * it, or undefined when the child may not load it on first use: only a
 * CommonJS module (Jest imports ESM ones) whose factory, if any, is not
 * async, and which Jest accepts as a transformer, can be loaded inside a
 * synchronous transform, as Jest's loadTransformers would have loaded it.
 * Asked of the module Jest's own scheduler has loaded in this process already.
 */
function shapeIfLazy(modulePath: string, options: unknown): TransformerShape | undefined {
  if (/\.m[jt]s$/.test(modulePath)) return undefined;
  try {
    const required = require(modulePath) as { __esModule?: boolean; default?: unknown } | null;
    let transformer = (required?.__esModule ? required.default : required) as Record<string, unknown> | null | undefined;
    if (typeof transformer?.createTransformer === 'function') transformer = (transformer.createTransformer as (o: unknown) => Record<string, unknown>)(options);
    if (transformer == null || typeof transformer.then === 'function') return undefined;
    const shape = shapeOf(transformer);
    return shape.includes('process') || shape.includes('processAsync') ? shape : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A manual mock Jest would load for `name` required from `file`, as
 * jest-runtime finds one: a root `__mocks__` entry in the haste map, or a
 * `__mocks__` folder beside the resolved module. Keyed whether or not the
 * test mocks it: a mock that is loaded is otherwise a miss on every run.
 */
function manualMocks(resolver: Resolver, file: string, name: string, resolved: string | undefined): string[] {
  const mocks: string[] = [];
  try {
    const root = resolver.getMockModule?.(file, name);
    if (root) mocks.push(root);
  } catch {
    // No mock for it: nothing to key.
  }
  if (resolved !== undefined) {
    const sibling = path.join(path.dirname(resolved), '__mocks__', path.basename(resolved));
    if (fs.existsSync(sibling)) mocks.push(sibling);
  }
  return mocks;
}

/** The test file, its setup files, every project file they import, and their manual mocks, as Jest's haste map knows them. */
function filesOf(test: Test): string[] {
  const { config } = test.context;
  const hasteFS = test.context.hasteFS as unknown as HasteFS;
  const resolver = test.context.resolver as unknown as Resolver;
  const seen = new Set<string>();
  const queue = [test.path, ...config.setupFiles, ...config.setupFilesAfterEnv];
  while (queue.length > 0 && seen.size < MAX_FILES) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    let dependencies: string[] | null = null;
    try {
      dependencies = hasteFS.getDependencies(file);
    } catch {
      dependencies = null;
    }
    for (const name of dependencies ?? []) {
      let resolved: string | undefined;
      try {
        if (!resolver.isCoreModule(name)) resolved = resolver.resolveModule(file, name, { conditions: undefined });
      } catch {
        // Unresolvable here: the child resolves it, or fails, as Jest does (a root mock may still stand in).
      }
      for (const found of [...(resolved !== undefined ? [resolved] : []), ...manualMocks(resolver, file, name, resolved)]) {
        if (!seen.has(found)) queue.push(found);
      }
    }
  }
  return [...seen];
}

/** The coverage part of the options jest-runtime passes with every transform (its _getFullTransformationOptions). */
function coverageOptions(globalConfig: Config.GlobalConfig, runnerContext: TestRunnerContext): Record<string, unknown> {
  return {
    changedFiles: runnerContext.changedFiles,
    collectCoverage: globalConfig.collectCoverage,
    collectCoverageFrom: globalConfig.collectCoverageFrom,
    coverageProvider: globalConfig.coverageProvider,
    globalRootDir: globalConfig.rootDir,
    sourcesRelatedToTestsInChangedFiles: runnerContext.sourcesRelatedToTestsInChangedFiles,
  };
}

/**
 * The options jest-runtime transforms a file with: those of a CommonJS
 * require (its defaultTransformOptions), or, for a file it loads as an ES
 * module, its ESM_TRANSFORM_OPTIONS. A guess wrong for another Jest costs a
 * miss, never a wrong key: the child compares the options' hash.
 */
function requireOptions(globalConfig: Config.GlobalConfig, runnerContext: TestRunnerContext, esm: boolean): Record<string, unknown> {
  return {
    isInternalModule: false,
    supportsDynamicImport: esm || typeof (vm as { SyntheticModule?: unknown }).SyntheticModule === 'function',
    supportsExportNamespaceFrom: esm,
    supportsStaticESM: esm,
    supportsTopLevelAwait: esm,
    ...coverageOptions(globalConfig, runnerContext),
  };
}

type ShouldLoadAsEsm = (file: string, extensionsToTreatAsEsm: string[]) => boolean;

/** Whether jest-runtime loads `file` as an ES module: jest-resolve's own answer (.mjs, "type": "module", extensionsToTreatAsEsm). */
function esmTest(test: Test): (file: string) => boolean {
  const resolverClass = (test.context.resolver as unknown as { constructor: { unstable_shouldLoadAsEsm?: ShouldLoadAsEsm } }).constructor;
  const shouldLoadAsEsm = resolverClass.unstable_shouldLoadAsEsm;
  const extensions = test.context.config.extensionsToTreatAsEsm;
  return (file) => {
    try {
      return typeof shouldLoadAsEsm === 'function' && shouldLoadAsEsm(file, extensions);
    } catch {
      return false;
    }
  };
}

/** Runs `compute` with process.env as the sandboxed child will have it: a transformer's key may read it (babel-jest reads BABEL_ENV and NODE_ENV). */
function withEnv<T>(env: NodeJS.ProcessEnv, compute: () => T): T {
  const saved = process.env;
  process.env = Object.fromEntries(Object.entries(env).filter(([name]) => !CHILD_ONLY_VARS.has(name)));
  try {
    return compute();
  } finally {
    process.env = saved;
  }
}

/**
 * A writable bind other than the sandboxes' cache and the file's snapshots
 * (`project: 'writable'`, a writable bind option) lets a test change host
 * files, a babel.config.js or a plugin among them, that this process would
 * then run to make a key. From the first such file on, the run makes no keys.
 */
const tainted = new WeakSet<TestRunnerContext>();

export interface KeyRequest {
  test: Test;
  plan: FilePlan;
  /** The child's config: Jest's, with the sandboxes' cacheDirectory. */
  config: Config.ProjectConfig;
  /** The environment the child is launched with. */
  env: NodeJS.ProcessEnv;
  globalConfig: Config.GlobalConfig;
  runnerContext: TestRunnerContext;
}

/**
 * Keys for the sandboxed child of `test`. Undefined when the lever is off
 * (MOUNT_SANDBOX_TRANSFORM_KEYS=0), there is nothing to transform, or keys
 * cannot be made safely; the child then does as Jest does.
 */
export async function transformKeysFor(request: KeyRequest): Promise<TransformKeys | undefined> {
  const { test, plan, config, env, globalConfig, runnerContext } = request;
  if (writesToHost(plan.spec)) tainted.add(runnerContext);
  // Watch mode keeps this process, and with it a transformer's module-level caches, across runs: stay out.
  if (process.env.MOUNT_SANDBOX_TRANSFORM_KEYS === '0' || config.transform.length === 0 || globalConfig.watch || globalConfig.watchAll || tainted.has(runnerContext)) return undefined;
  // Variables a docblock chose are test code: under BROWSERSLIST with
  // BROWSERSLIST_DANGEROUS_EXTEND, babel's key required a module the file
  // named, here. That file's child keys inside, as Jest does.
  if (plan.testChosenEnv) return undefined;
  try {
    return await makeKeys(test, config, env, globalConfig, runnerContext);
  } catch {
    // Never a reason to fail a file: without keys the child keys as Jest does.
    return undefined;
  }
}

/**
 * Jest's cacheDirectory, real: it holds the sandboxes' cache and the snapshot
 * scratch folders, which every sandbox of the project writes. A config may put
 * it inside the project (`<rootDir>/.jest-cache`), and so under the roots.
 */
function sandboxWritten(test: Test): string[] {
  const dir = test.context.config.cacheDirectory;
  try {
    return [dir, fs.realpathSync(dir)];
  } catch {
    return [dir];
  }
}

async function makeKeys(test: Test, config: Config.ProjectConfig, env: NodeJS.ProcessEnv, globalConfig: Config.GlobalConfig, runnerContext: TestRunnerContext): Promise<TransformKeys | undefined> {
  const maker = await keyMaker(config, runnerContext);
  if (!maker) return undefined;
  const { transformer } = maker;
  const isEsm = esmTest(test);
  const { shouldInstrument } = transformModule();
  const environment = envHash(env);
  const written = sandboxWritten(test);
  const entries: TransformKeys['entries'] = [];
  withEnv(env, () => {
    for (const file of filesOf(test)) {
      let real: string;
      let stat: fs.Stats;
      try {
        real = fs.realpathSync(file);
        stat = fs.statSync(real);
      } catch {
        continue;
      }
      if (!stat.isFile() || !maker.roots.some((root) => real === root || isUnder(real, root))) continue;
      // A file the sandboxes may have written: keying it would run a babel config planted beside it, here.
      if (written.some((dir) => isUnder(real, dir))) continue;
      // Only files a transformer claims: for the others the child loads nothing anyway.
      if (!transformer.shouldTransform(real) || transformer._getTransformPatternAndPath(real) === undefined) continue;
      const base = requireOptions(globalConfig, runnerContext, isEsm(real));
      const options = { ...base, instrument: globalConfig.coverageProvider === 'babel' && shouldInstrument(real, base, transformer._config) };
      const hashOfOptions = optionsHash(options);
      if (hashOfOptions === undefined) continue;
      const memoKey = `${real}\0${environment}`;
      const known = maker.memo.get(memoKey);
      if (known && known.mtimeMs === stat.mtimeMs && known.size === stat.size && known.optionsHash === hashOfOptions) {
        entries.push([real, known.contentHash, known.optionsHash, known.key]);
        continue;
      }
      try {
        const content = stripShebang(fs.readFileSync(real, 'utf8'));
        const key = transformer._getCacheKey(content, real, options);
        const memo = { mtimeMs: stat.mtimeMs, size: stat.size, contentHash: sha1(content), optionsHash: hashOfOptions, key };
        maker.memo.set(memoKey, memo);
        entries.push([real, memo.contentHash, memo.optionsHash, key]);
      } catch {
        // A transformer that fails to key this file fails it in the child too, in Jest's own words.
      }
    }
  });
  return { configHash: maker.configHash, envHash: environment, lazy: maker.lazy, shapes: maker.shapes, entries };
}
