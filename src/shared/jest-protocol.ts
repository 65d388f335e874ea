// Messages between the runner (in Jest's process) and the sandboxed child
// that runs one test file. Branded with `type`; sent as JSON in
// length-prefixed frames (frames.ts) on a socket of their own, never through
// Node's IPC channel, whose deserializer would run on hostile bytes inside
// Jest's process. Errors travel as plain objects of an explicit shape.
import { types } from 'node:util';
import type { SerializableError, TestCaseResult, TestEvents, TestResult } from '@jest/test-result';
import type { Config } from '@jest/types';
import type { SerializableModuleMap } from 'jest-haste-map';
import type { TransformKeys } from './transform-key-format';

export interface JestModulePaths {
  jestRunner: string;
  jestRuntime: string;
  jestHasteMap: string;
  jestResolve: string;
}

/**
 * Sent as soon as the sandbox is up: the child loads Jest and rebuilds the
 * resolver while it waits for a free slot, so that a prepared sandbox is
 * ready the moment the previous file ends.
 */
export interface PrepareRequest {
  type: 'prepare';
  globalConfig: Config.GlobalConfig;
  config: Config.ProjectConfig;
  moduleMap: SerializableModuleMap;
  modules: JestModulePaths;
  /** Transform-cache keys made in Jest's process, so that a cache hit loads no transformer (transform-keys.ts). */
  transformKeys?: TransformKeys;
}

export interface RunRequest {
  type: 'run';
  testPath: string;
  workerId: number;
  /** Kept undefined (not empty) when Jest gave none: coverage filtering tells them apart. */
  changedFiles?: string[];
  sourcesRelatedToTestsInChangedFiles?: string[];
}

export type ParentMessage = PrepareRequest | RunRequest;

export interface ChildStats {
  /** Peak resident set size of the child, bytes. */
  maxRss: number;
  /** The child's CPU time (user + system, ms) when its file ended. */
  cpuMs?: number;
  /** Its minor page faults by then: on a VM where each costs tens of microseconds, they are much of that CPU. */
  pageFaults?: number;
}

export type ChildMessage =
  /** cpuMs: the child's CPU time (user + system, ms) once Jest is loaded, before the file is assigned. */
  | { type: 'loaded'; loadMs: number; cpuMs?: number }
  | { type: 'test-case-start'; args: TestEvents['test-case-start'] }
  | { type: 'test-case-result'; args: [string, TestCaseResult] }
  | { type: 'result'; result: TestResult; stats: ChildStats }
  | { type: 'failure'; error: SerializableError };

/** Set on globalThis by the child before any test code; the environment refuses to run without it. */
export const CHILD_MARKER = Symbol.for('jest-environment-mount-sandbox.child');

export function toSerializableError(error: unknown): SerializableError {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const e = error as { message?: unknown; stack?: unknown; code?: unknown; type?: unknown };
    return {
      message: String(e.message ?? ''),
      stack: typeof e.stack === 'string' ? e.stack : '',
      type: typeof e.type === 'string' ? e.type : 'Error',
      ...(e.code !== undefined ? { code: e.code as SerializableError['code'] } : {}),
    };
  }
  return { message: String(error), stack: '', type: 'Error' };
}

/** The shape an Error takes on the wire: what reporters read of it, and its own enumerable fields. */
function errorToPlain(error: Error): Record<string, unknown> {
  return { ...error, name: error.name, message: error.message, stack: error.stack };
}

function isErrorLike(value: unknown): value is Error {
  // Errors thrown by test code come from the test's vm realm, where `instanceof Error` is false.
  return value instanceof Error || types.isNativeError(value);
}

function replacer(_key: string, value: unknown): unknown {
  if (isErrorLike(value)) return errorToPlain(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

const MAX_DEPTH = 200;

/** Plain data only: cycles and what is too deep become markers, functions and symbols disappear (as JSON does). */
function toPlain(value: unknown, ancestors: Set<object>, depth: number): unknown {
  const replaced = replacer('', value);
  if (typeof replaced !== 'object' || replaced === null) return replaced;
  if (ancestors.has(replaced)) return '[Circular]';
  if (depth > MAX_DEPTH) return '[Too deep]';
  const toJSON = (replaced as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return toPlain((toJSON as () => unknown).call(replaced), ancestors, depth + 1);
  ancestors.add(replaced);
  try {
    if (Array.isArray(replaced)) return replaced.map((item) => toPlain(item, ancestors, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(replaced)) out[key] = toPlain(item, ancestors, depth + 1);
    return out;
  } finally {
    ancestors.delete(replaced);
  }
}

/**
 * JSON of a message. Structured clone used to refuse some values (the
 * Symbol-keyed asymmetric matchers in a failed assertion's details); JSON
 * drops those, and a cyclic value (an assertion's details can hold one) is
 * copied as plain data first, rather than losing the whole result.
 */
export function encodeMessage(message: unknown): string {
  try {
    return JSON.stringify(message, replacer);
  } catch {
    return JSON.stringify(toPlain(message, new Set(), 0));
  }
}

export interface ValueLimits {
  /** The most JSON values one frame may hold. */
  maxFrameValues: number;
  /** The most JSON values one file's child may send in all. */
  maxTotalValues: number;
}

/**
 * Bytes alone do not bound what parsing costs: `[{},{},…]` grows about 30
 * times in the heap, so a frame within the byte limit could still exhaust
 * Jest's process. A file's honest result, coverage included, holds well under
 * a million values; a frame of these many empty objects takes about 300 MB.
 */
export const CHILD_VALUE_LIMITS: ValueLimits = { maxFrameValues: 8_000_000, maxTotalValues: 16_000_000 };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const VALUE_STARTS = new Uint8Array(256);
for (const c of '{[,:') VALUE_STARTS[c.charCodeAt(0)] = 1;

/**
 * An upper bound on the values a JSON text holds, or `stopAbove + 1` as soon
 * as it passes that: every value but the outermost follows a `[`, `,` or `:`,
 * and every object or array opens with `{` or `[`. A scan of the bytes, so
 * that an oversized frame is refused before JSON.parse allocates anything.
 */
export function jsonValueBound(payload: Uint8Array, stopAbove: number): number {
  let count = 1;
  let inString = false;
  for (let i = 0; i < payload.length; i++) {
    const byte = payload[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (VALUE_STARTS[byte] === 1 && ++count > stopAbove) {
      return count;
    }
  }
  return count;
}

/**
 * Parses a frame's JSON into plain data. `__proto__` keys are dropped, so
 * that no later Object.assign or merge of this data can change a prototype.
 * Throws on anything that is not JSON.
 */
export function decodeMessage(payload: Buffer): unknown {
  return JSON.parse(payload.toString('utf8'), (key, value: unknown) => (key === '__proto__' ? undefined : value));
}
