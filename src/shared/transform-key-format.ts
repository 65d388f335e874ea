// The transform-key lever's common ground, for Jest's process (which makes
// the keys, transform-keys.ts) and the sandboxed child (which matches them,
// lazy-transform.ts): what is sent, and the hashes both sides must compute
// the same way. Pure; loads nothing of Jest.
import crypto from 'node:crypto';
import type { Config } from '@jest/types';
import { SANDBOX_MARKER_VAR } from './sandbox-protocol';
/** What the child needs to answer `_getCacheKey` without the transformer. */
export interface TransformKeys {
  /** sha1 of the ScriptTransformer's configString: the child's config must be the one the keys were made for. */
  configHash: string;
  /** sha1 of the environment the keys were computed under (JEST_WORKER_ID aside). */
  envHash: string;
  /** Every transformer of the config loads with require() and a synchronous createTransformer, so it can be loaded on first use. */
  lazy: boolean;
  /**
   * For each entry of config.transform, in order: which of Jest's hook
   * methods the transformer has. Jest asks that of a transformer before a
   * cache hit too (`canTransformSync` reads `process` for every ES module),
   * and the stand-in answers it without loading the transformer.
   */
  shapes: TransformerShape[];
  /** [realpath, sha1 of the content, hash of the transform options, Jest's cache key]. */
  entries: Array<[string, string, string, string]>;
}

/** The methods whose presence Jest tests before it calls them; anything else it reads only after a transform, with the transformer loaded. */
export const SHAPE_METHODS = ['process', 'processAsync', 'getCacheKey', 'getCacheKeyAsync'] as const;
export type ShapeMethod = (typeof SHAPE_METHODS)[number];
/** The methods of SHAPE_METHODS that the transformer has (as functions). */
export type TransformerShape = ShapeMethod[];

export function shapeOf(transformer: Record<PropertyKey, unknown>): TransformerShape {
  return SHAPE_METHODS.filter((name) => typeof transformer[name] === 'function');
}

/** The few ScriptTransformer internals both sides rely on; checked before use. */
export interface ScriptTransformerInternals {
  _config: Config.ProjectConfig;
  _cache: { configString: string };
  _getCacheKey(fileData: string, filename: string, options: Record<string, unknown>): string;
  _getTransformPatternAndPath(filename: string): [string, string] | undefined;
  shouldTransform(filename: string): boolean;
}

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
export const CHILD_ONLY_VARS = new Set([SANDBOX_MARKER_VAR, 'JEST_WORKER_ID']);

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
