// The sandboxed child's side of transform-keys.ts: a transform-cache hit
// loads nothing of the transformer. @jest/transform's ScriptTransformer
// loads every transformer up front (loadTransformers) and asks it for a
// cache key (_getCacheKey) before it looks in the cache; both are patched on
// its prototype, and nothing else of Jest's code path changes:
// - loadTransformers puts a stand-in in place of each transformer, which
//   loads the real one (as Jest would: require, createTransformer) the first
//   time anything of it is used; whether it has process, processAsync,
//   getCacheKey or getCacheKeyAsync, which Jest tests before a cache hit
//   too (canTransformSync, for every ES module), it answers from what Jest's
//   process saw of the same transformer, and loads it only when one is called;
// - _getCacheKey (and _getCacheKeyAsync) answer from the keys Jest's
//   process made, when the file's content, its realpath, the transform
//   options, the config and the environment are exactly those the key was
//   made for, and otherwise ask the transformer, as Jest does.
// A hit thus costs a sha1 of the file; a miss costs what it costs in Jest.
import path from 'node:path';
import { envHash, optionsHash, SHAPE_METHODS, sha1, shapeOf, type ScriptTransformerInternals, type ShapeMethod, type TransformerShape, type TransformKeys } from '../shared/transform-key-format';

type Transformer = Record<PropertyKey, unknown>;
type TransformEntry = [pattern: string, modulePath: string, options: unknown];

interface Patchable extends ScriptTransformerInternals {
  _transformCache: Map<string, { transformer: Transformer; transformerConfig: unknown }>;
  _transformsAreLoaded: boolean;
  _cache: ScriptTransformerInternals['_cache'] & { transformRegExp?: Array<[RegExp, string, unknown]> };
  _buildTransformCacheKey(pattern: string, modulePath: string): string;
  _getCacheKeyAsync(fileData: string, filename: string, options: Record<string, unknown>): Promise<string>;
  _getTransformer(filename: string): { transformer: Transformer } | null;
  loadTransformers(): Promise<void>;
}

export interface LazyTransformStats {
  installed: boolean;
  hits: number;
  misses: number;
  /** Transformers loaded in this process (by a miss, or by Jest asking something else of one). */
  loaded: string[];
}

export const lazyTransformStats: LazyTransformStats = { installed: false, hits: 0, misses: 0, loaded: [] };

let keys: TransformKeys | undefined;
let byFile = new Map<string, Array<[string, string, string]>>();

const isShapeMethod = (property: PropertyKey): property is ShapeMethod => (SHAPE_METHODS as readonly PropertyKey[]).includes(property);

/**
 * The stand-in: loads the transformer when Jest first reads a property of it,
 * then is it. The methods of `shape` it has without loading: each calls the
 * real one, loaded then.
 */
function lazyTransformer(modulePath: string, options: unknown, shape: TransformerShape): Transformer {
  let real: Transformer | undefined;
  const bound = new Map<PropertyKey, unknown>();
  const load = (): Transformer => {
    if (real) return real;
    // As jest-util's requireOrImportModule (with interop) and loadTransformers do.
    const required = require(modulePath) as { __esModule?: boolean; default?: unknown } | null;
    let transformer = (required?.__esModule ? required.default : required) as Transformer | null | undefined;
    if (transformer == null) throw new Error(`Jest: the transformer ${modulePath} exports nothing`);
    if (typeof transformer.createTransformer === 'function') transformer = (transformer.createTransformer as (o: unknown) => Transformer)(options);
    // Jest's process checked both before it allowed a stand-in; a transformer that changed since fails loudly.
    if (transformer == null || typeof transformer.then === 'function') throw new Error(`mount-sandbox: the transformer ${modulePath} now has an async createTransformer; run again, or set MOUNT_SANDBOX_TRANSFORM_KEYS=0`);
    if (typeof transformer.process !== 'function' && typeof transformer.processAsync !== 'function') throw new TypeError(`Jest: the transformer ${modulePath} must export a "process" or "processAsync" function`);
    // Jest may already have chosen between process and processAsync on the stand-in's word.
    if (shapeOf(transformer).join() !== shape.join()) throw new Error(`mount-sandbox: the transformer ${modulePath} has other methods (${shapeOf(transformer).join(', ')}) than Jest's process saw (${shape.join(', ')}); run again, or set MOUNT_SANDBOX_TRANSFORM_KEYS=0`);
    lazyTransformStats.loaded.push(modulePath);
    real = transformer;
    return real;
  };
  const deferred = (name: ShapeMethod): unknown => {
    if (!shape.includes(name)) return undefined;
    let fn = bound.get(name);
    if (fn === undefined) {
      fn = (...args: unknown[]): unknown => {
        const target = load();
        return (target[name] as (...a: unknown[]) => unknown).apply(target, args);
      };
      bound.set(name, fn);
    }
    return fn;
  };
  return new Proxy({} as Transformer, {
    get(_target, property) {
      if (isShapeMethod(property)) return deferred(property);
      const target = load();
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Jest calls some methods detached (`const process = t.processAsync ?? t.process`): bind them to the real transformer.
      let fn = bound.get(property);
      if (fn === undefined || (fn as { original?: unknown }).original !== value) {
        fn = Object.assign((value as (...args: unknown[]) => unknown).bind(target), { original: value });
        bound.set(property, fn);
      }
      return fn;
    },
    has(_target, property) {
      if (isShapeMethod(property)) return shape.includes(property);
      return Reflect.has(load(), property);
    },
  });
}

function lookup(transformer: Patchable, fileData: string, filename: string, options: Record<string, unknown>): string | undefined {
  if (!keys || sha1(transformer._cache.configString) !== keys.configHash) return undefined;
  const candidates = byFile.get(filename);
  if (!candidates || envHash(process.env) !== keys.envHash) return undefined;
  const contentHash = sha1(fileData);
  const hashOfOptions = optionsHash(options);
  return candidates.find(([content, opts]) => content === contentHash && opts === hashOfOptions)?.[2];
}

function isPatchable(proto: unknown): proto is Patchable {
  const p = proto as Partial<Patchable> | null;
  return typeof p?.loadTransformers === 'function' && typeof p._getCacheKey === 'function' && typeof p._getCacheKeyAsync === 'function' && typeof p._buildTransformCacheKey === 'function';
}

/**
 * Patches @jest/transform (the copy at `transformModulePath`, the one
 * jest-runner and jest-runtime load) to use `given`. Returns false, patching
 * nothing, when that Jest's ScriptTransformer is not the shape this expects.
 */
export async function installLazyTransforms(transformModulePath: string, given: TransformKeys): Promise<boolean> {
  keys = given;
  byFile = new Map();
  for (const [file, content, opts, key] of given.entries) byFile.set(file, [...(byFile.get(file) ?? []), [content, opts, key]]);
  const { createScriptTransformer } = require(transformModulePath) as { createScriptTransformer(config: unknown): Promise<unknown> };
  // An instance with no transformers loads nothing, and gives us the class.
  const probe = await createScriptTransformer({ transform: [], transformIgnorePatterns: [], cacheDirectory: path.sep, id: 'mount-sandbox-probe' });
  const proto = Object.getPrototypeOf(probe) as unknown;
  if (!isPatchable(proto) || !((probe as Partial<Patchable>)._transformCache instanceof Map)) return false;
  const loadTransformers = proto.loadTransformers;
  const getCacheKey = proto._getCacheKey;
  const getCacheKeyAsync = proto._getCacheKeyAsync;

  proto.loadTransformers = function lazyLoadTransformers(this: Patchable): Promise<void> {
    const transform = this._config.transform as unknown as TransformEntry[];
    const shapes = keys?.shapes;
    if (!keys?.lazy || transform.length === 0 || shapes?.length !== transform.length || sha1(this._cache.configString) !== keys.configHash) return loadTransformers.call(this);
    transform.forEach(([pattern, modulePath, options], i) => {
      const cacheKey = this._buildTransformCacheKey(this._cache.transformRegExp?.[i]?.[0].source ?? new RegExp(pattern).source, modulePath);
      this._transformCache.set(cacheKey, { transformer: lazyTransformer(modulePath, options, shapes[i]), transformerConfig: options });
    });
    this._transformsAreLoaded = true;
    return Promise.resolve();
  };

  proto._getCacheKey = function keyFromJestsProcess(this: Patchable, fileData: string, filename: string, options: Record<string, unknown>): string {
    const key = lookup(this, fileData, filename, options);
    if (key !== undefined) {
      lazyTransformStats.hits += 1;
      return key;
    }
    lazyTransformStats.misses += 1;
    return getCacheKey.call(this, fileData, filename, options);
  };

  // Jest's path for a transformer with processAsync only (ES modules, Jest's own async paths). Jest's
  // process made each key with getCacheKey: that is the key here too only when there is no getCacheKeyAsync.
  proto._getCacheKeyAsync = function keyFromJestsProcessAsync(this: Patchable, fileData: string, filename: string, options: Record<string, unknown>): Promise<string> {
    const entry = this._getTransformer(filename);
    const key = entry && 'getCacheKeyAsync' in entry.transformer ? undefined : lookup(this, fileData, filename, options);
    if (key !== undefined) {
      lazyTransformStats.hits += 1;
      return Promise.resolve(key);
    }
    lazyTransformStats.misses += 1;
    return getCacheKeyAsync.call(this, fileData, filename, options);
  };
  lazyTransformStats.installed = true;
  return true;
}
