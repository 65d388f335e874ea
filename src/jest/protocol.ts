// Messages between the runner (in Jest's process) and the sandboxed child
// that runs one test file. Branded with `type`; sent with Node's 'advanced'
// serialization because a TestResult carries Errors.
import type { SerializableError, TestCaseResult, TestEvents, TestResult } from '@jest/test-result';
import type { Config } from '@jest/types';
import type { SerializableModuleMap } from 'jest-haste-map';

export interface JestModulePaths {
  jestRunner: string;
  jestRuntime: string;
  jestHasteMap: string;
  jestResolve: string;
}

export interface RunRequest {
  type: 'run';
  testPath: string;
  globalConfig: Config.GlobalConfig;
  config: Config.ProjectConfig;
  moduleMap: SerializableModuleMap;
  workerId: number;
  /** Kept undefined (not empty) when Jest gave none: coverage filtering tells them apart. */
  changedFiles?: string[];
  sourcesRelatedToTestsInChangedFiles?: string[];
  modules: JestModulePaths;
}

export type ChildMessage =
  | { type: 'loaded'; loadMs: number }
  | { type: 'test-case-start'; args: TestEvents['test-case-start'] }
  | { type: 'test-case-result'; args: [string, TestCaseResult] }
  | { type: 'result'; result: TestResult }
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
