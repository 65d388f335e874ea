// Jest's process (the host side of the lever in lazy-transform.ts): the
// transform-cache keys of the files a sandboxed test file will most likely
// require, computed here, where Jest's transformer is warm, so that a
// sandbox whose files are all in the cache never loads the transformer
// (babel-jest alone pulls in all of @babel/core, 200-360 ms of CPU per file).
//
// Trust: the child sends nothing for this. The files are chosen here, from
// Jest's own haste map (the test file, the setup files, and what they import,
// transitively), each realpath-checked to lie under the project's roots and
// to be one Jest would transform; their contents are read here from the
// host. The child uses a key only for a file whose content hashes to what
// was read here, with the same options, config and environment.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type { Test } from '@jest/test-result';
import type { Config } from '@jest/types';
import type { TestRunnerContext } from 'jest-runner';
import { isUnder } from '../sandbox/paths';
import { SANDBOX_MARKER_VAR } from '../sandbox/protocol';
import type { FilePlan } from './file-plan';
import { jestModules } from './jest-modules';

/** What the child needs to answer `_getCacheKey` without the transformer. */
export interface TransformKeys {
  /** sha1 of the ScriptTransformer's configString: the child's config must be the one the keys were made for. */
  configHash: string;
  /** sha1 of the environment the keys were computed under (JEST_WORKER_ID aside). */
  envHash: string;
  /** Every transformer of the config loads with require() and a synchronous createTransformer, so it can be loaded on first use. */
  lazy: boolean;
  /** [realpath, sha1 of the content, hash of the transform options, Jest's cache key]. */
  entries: Array<[string, string, string, string]>;
}

/** The few ScriptTransformer internals both sides rely on; checked before use. */
export interface ScriptTransformerInternals {
  _config: Config.ProjectConfig;
  _cache: { configString: string };
  _getCacheKey(fileData: string, filename: string, options: Record<string, unknown>): string;
  _getTransformPatternAndPath(filename: string): [string, string] | undefined;
  shouldTransform(filename: string): boolean;
}

type TransformModule = {
  createScriptTransformer(config: Config.ProjectConfig): Promise<ScriptTransformerInternals>;
  shouldInstrument(filename: string, options: Record<string, unknown>, config: Config.ProjectConfig): boolean;
};

type HasteFS = { getDependencies(file: string): string[] | null };
type Resolver = {
  isCoreModule(name: string): boolean;
  resolveModule(from: string, name: string, options?: { conditions?: string[] }): string;
};

/** How many files one test file may bring into the plan; beyond, the child computes keys itself. */
const MAX_FILES = 5000;

export const sha1 = (text: string): string => crypto.createHash('sha1').update(text).digest('hex');

/**
 * A canonical text for values in Jest's transform options: sorted keys, Sets
 * as sorted lists, undefined left out (as JSON does). Anything else (a
 * function, a class instance) gives undefined: no key is shared for it.
 */
export function canonical(value: unknown): string | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) {
    const items = value.map(canonical);
    return items.includes(undefined) ? undefined : `[${items.join(',')}]`;
  }
  if (value instanceof Set) {
    const items = [...value].map(canonical);
    return items.includes(undefined) ? undefined : `set[${items.sort().join(',')}]`;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const parts: string[] = [];
    for (const key of Object.keys(value as object).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      const text = canonical(item);
      if (text === undefined) return undefined;
      parts.push(`${JSON.stringify(key)}:${text}`);
    }
    return `{${parts.join(',')}}`;
  }
  return undefined;
}

/** The options' part of the key the child looks up; the transformer adds cacheFS, config and transformerConfig itself. */
export function optionsHash(options: Record<string, unknown>): string | undefined {
  const text = canonical(options);
  return text === undefined ? undefined : sha1(text);
}

/**
 * Variables the child has and Jest's workers do not, or not yet when the keys
 * are made: the sandbox's own description (set inside, by its init) and the
 * worker id (known only when a slot is free). Keys made without them are
 * the keys plain Jest makes.
 */
const CHILD_ONLY_VARS = new Set([SANDBOX_MARKER_VAR, 'JEST_WORKER_ID']);

/**
 * Compared neither: PWD, which the sandbox's shell sets to the working
 * directory when Jest's process has none. The working directory is no part
 * of the comparison either; a transformer keys on config.rootDir.
 */
const SHELL_VARS = new Set(['PWD']);

export function envHash(env: NodeJS.ProcessEnv): string {
  const entries = Object.entries(env).filter(([name, value]) => !CHILD_ONLY_VARS.has(name) && !SHELL_VARS.has(name) && value !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha1(JSON.stringify(entries));
}

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
      return { transformer, lazy: config.transform.every(([, modulePath, options]) => loadsSynchronously(modulePath, options)), configHash: sha1(transformer._cache.configString), roots, memo: new Map() };
    })().catch(() => undefined);
    makers.set(id, maker);
  }
  return maker;
}

/**
 * Whether the child may load this transformer on first use, inside a
 * synchronous transform, as Jest's loadTransformers would have loaded it:
 * a CommonJS module (Jest imports ESM ones) whose factory, if any, is not
 * async, and which Jest accepts as a transformer. Asked of the module Jest's
 * own scheduler has loaded in this process already.
 */
function loadsSynchronously(modulePath: string, options: unknown): boolean {
  if (/\.m[jt]s$/.test(modulePath)) return false;
  try {
    const required = require(modulePath) as { __esModule?: boolean; default?: unknown } | null;
    let transformer = (required?.__esModule ? required.default : required) as Record<string, unknown> | null | undefined;
    if (typeof transformer?.createTransformer === 'function') transformer = (transformer.createTransformer as (o: unknown) => Record<string, unknown>)(options);
    if (transformer == null || typeof transformer.then === 'function') return false;
    return typeof transformer.process === 'function' || typeof transformer.processAsync === 'function';
  } catch {
    return false;
  }
}

/** The test file, its setup files, and every project file they import, as Jest's haste map knows them. */
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
      try {
        if (resolver.isCoreModule(name)) continue;
        const resolved = resolver.resolveModule(file, name, { conditions: undefined });
        if (!seen.has(resolved)) queue.push(resolved);
      } catch {
        // Unresolvable here: the child resolves it, or fails, as Jest does.
      }
    }
  }
  return [...seen];
}

/** The options jest-runtime passes when a CommonJS test file, setup file or module is required (see its runTest and Runtime). */
function requireOptions(globalConfig: Config.GlobalConfig, runnerContext: TestRunnerContext): Record<string, unknown> {
  return {
    isInternalModule: false,
    supportsDynamicImport: typeof (vm as { SyntheticModule?: unknown }).SyntheticModule === 'function',
    supportsExportNamespaceFrom: false,
    supportsStaticESM: false,
    supportsTopLevelAwait: false,
    changedFiles: runnerContext.changedFiles,
    collectCoverage: globalConfig.collectCoverage,
    collectCoverageFrom: globalConfig.collectCoverageFrom,
    coverageProvider: globalConfig.coverageProvider,
    globalRootDir: globalConfig.rootDir,
    sourcesRelatedToTestsInChangedFiles: runnerContext.sourcesRelatedToTestsInChangedFiles,
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

function writesToHost(plan: FilePlan): boolean {
  return plan.spec.mounts.some((op) => op.type === 'bind' && op.dest !== plan.cacheDirectory && !/^(inline )?snapshots of /.test(op.origin ?? ''));
}

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
  if (writesToHost(plan)) tainted.add(runnerContext);
  // Watch mode keeps this process, and with it a transformer's module-level caches, across runs: stay out.
  if (process.env.MOUNT_SANDBOX_TRANSFORM_KEYS === '0' || config.transform.length === 0 || globalConfig.watch || globalConfig.watchAll || tainted.has(runnerContext)) return undefined;
  try {
    return await makeKeys(test, config, env, globalConfig, runnerContext);
  } catch {
    // Never a reason to fail a file: without keys the child keys as Jest does.
    return undefined;
  }
}

async function makeKeys(test: Test, config: Config.ProjectConfig, env: NodeJS.ProcessEnv, globalConfig: Config.GlobalConfig, runnerContext: TestRunnerContext): Promise<TransformKeys | undefined> {
  const maker = await keyMaker(config, runnerContext);
  if (!maker) return undefined;
  const { transformer } = maker;
  const base = requireOptions(globalConfig, runnerContext);
  const { shouldInstrument } = transformModule();
  const environment = envHash(env);
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
      // Only files a transformer claims: for the others the child loads nothing anyway.
      if (!transformer.shouldTransform(real) || transformer._getTransformPatternAndPath(real) === undefined) continue;
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
  return { configHash: maker.configHash, envHash: environment, lazy: maker.lazy, entries };
}
