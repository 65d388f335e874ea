// Messages between the runner (in Jest's process) and the sandboxed child
// that runs one test file. Branded with `type`; sent with Node's 'advanced'
// serialization because a TestResult carries Errors.
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
}

export type ChildMessage =
  | { type: 'loaded'; loadMs: number }
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

/**
 * Node's 'advanced' IPC serialization throws a plain Error ("… could not be
 * cloned") for values structured clone refuses, such as the Symbol-keyed
 * asymmetric matchers in a failed assertion's details.
 */
export function isCloneError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'DataCloneError' || /could not be cloned/.test(error.message));
}

/** A JSON round trip that keeps what reporters need of Errors (message, stack) and drops what cannot travel. */
export function toJsonSafe<T>(message: T): T {
  return JSON.parse(JSON.stringify(message, (_key, value: unknown) => {
    if (value instanceof Error) return { ...value, name: value.name, message: value.message, stack: value.stack };
    return typeof value === 'bigint' ? value.toString() : value;
  })) as T;
}
