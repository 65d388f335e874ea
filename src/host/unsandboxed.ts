// Which of the runner's files would run outside a sandbox, and whether the
// project's config chose that where it can be seen. The trap: next to
// `preset: 'jest-environment-mount-sandbox'`, an explicit `testEnvironment`
// key (ts-jest's config:init writes `testEnvironment: 'node'`) overrides the
// preset's, and every file would quietly run on the host. And a file's own
// `@jest-environment node` docblock would take it out of its sandbox: test
// code may be hostile, and a docblock may only narrow the sandbox. Such files
// fail before any of their code runs, unless the runner option below, in the
// project's config, says that files run on the host where their config or
// their own docblock names another environment.
import path from 'node:path';
import type { SerializableError, Test } from '@jest/test-result';
import type { Config } from '@jest/types';
import { formatError, configError } from '../shared/errors';
import { pragmasOf } from './file-plan';

/** `runner: ['jest-environment-mount-sandbox/runner', { allowUnsandboxed: true }]`. */
export const ALLOW_UNSANDBOXED = 'allowUnsandboxed';
const RUNNER_OPTIONS = [ALLOW_UNSANDBOXED];
export const ALLOW_SWITCH = `runner: ['jest-environment-mount-sandbox/runner', { ${ALLOW_UNSANDBOXED}: true }]`;

export interface Refused {
  test: Test;
  error: SerializableError;
}

export interface Split {
  /** Files that go to Jest's own runner: the project's config says so visibly. */
  plain: Test[];
  /** Files that would have run unsandboxed without anyone asking: failed, never run. */
  refused: Refused[];
}

function projectName(config: Config.ProjectConfig): string {
  const name = config.displayName?.name;
  return name ? `project "${name}" (${config.rootDir})` : `the project at ${config.rootDir}`;
}

/** `…/node_modules/jest-environment-node/build/index.js` → `jest-environment-node`. */
export function environmentName(environment: string, rootDir: string): string {
  const parts = environment.split(path.sep);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at + 1 >= parts.length) return path.relative(rootDir, environment) || environment;
  return parts[at + 1].startsWith('@') && at + 2 < parts.length ? `${parts[at + 1]}/${parts[at + 2]}` : parts[at + 1];
}

/** The runner's options for this project (Jest 30: `runner: [path, options]`): undefined, true, or a config error. */
function allowOf(config: Config.ProjectConfig): boolean | Error {
  const options: Record<string, unknown> = (config as { runnerOptions?: Record<string, unknown> }).runnerOptions ?? {};
  for (const key of Object.keys(options)) {
    if (!RUNNER_OPTIONS.includes(key)) {
      return configError(`runner options of ${projectName(config)}`, `unknown option ${JSON.stringify(key)}`, `the runner takes { ${ALLOW_UNSANDBOXED}: true } and nothing else`);
    }
  }
  const allow = options[ALLOW_UNSANDBOXED];
  if (allow !== undefined && typeof allow !== 'boolean') {
    return configError(`runner options of ${projectName(config)}: ${ALLOW_UNSANDBOXED}`, `expected true or false, got ${JSON.stringify(allow)}`);
  }
  return allow === true;
}

function asFailure(message: string): SerializableError {
  // No stack: the frames would be the runner's, which say nothing about the user's config.
  return { message, stack: '', type: 'Error' };
}

export function refusalMessage(config: Config.ProjectConfig): string {
  const environment = environmentName(config.testEnvironment, config.rootDir);
  const short = environment.replace(/^jest-environment-/, '');
  return [
    'mount-sandbox: not run, because this file would have run unsandboxed, on the host.',
    `testEnvironment is "${short}" (${environment}) in ${projectName(config)}, not mount-sandbox: a testEnvironment key in the Jest config ` +
      `(or --testEnvironment) overrides the one that preset: 'jest-environment-mount-sandbox' sets. ts-jest's config:init writes testEnvironment: "node", for example.`,
    `Fix: delete that testEnvironment key (the preset sets it), or set testEnvironment: 'mount-sandbox'.`,
    `On the host on purpose: ${ALLOW_SWITCH} in the project's config runs there every file of the project that has no mount-sandbox docblock.`,
  ].join('\n');
}

export function docblockRefusalMessage(config: Config.ProjectConfig, pragma: string): string {
  return [
    `mount-sandbox: not run, because its docblock (@jest-environment ${pragma}) would run this file unsandboxed, on the host.`,
    `A test file cannot take itself out of the sandbox: its docblock may only narrow it. Whether files may run on the host is for the Jest config of ${projectName(config)} to say.`,
    `Fix: remove that docblock line to run the file in its sandbox, or, to let such files run on the host on purpose, set ${ALLOW_SWITCH} in that config.`,
  ].join('\n');
}

/**
 * Splits the files that are not sandboxed. Each project is checked on its
 * own: its runner options, and its testEnvironment against the files'
 * docblocks (the runner only ever sees projects whose runner it is).
 */
export function splitUnsandboxed(tests: Test[]): Split {
  const plain: Test[] = [];
  const refused: Refused[] = [];
  for (const test of tests) {
    const { config } = test.context;
    const allow = allowOf(config);
    if (allow instanceof Error) {
      refused.push({ test, error: asFailure(formatError(allow)) });
      continue;
    }
    let pragmas: Record<string, string | string[]>;
    try {
      pragmas = pragmasOf(test.path);
    } catch {
      // Unreadable: Jest's runner cannot run it either, and says why in its own words.
      plain.push(test);
      continue;
    }
    if (allow) {
      plain.push(test);
      continue;
    }
    // isSandboxed said no: with a docblock environment, the file named another itself (Jest rejects a repeated one).
    const pragma = pragmas['jest-environment'];
    const message = pragma === undefined ? refusalMessage(config) : docblockRefusalMessage(config, Array.isArray(pragma) ? pragma.join(', ') : pragma);
    refused.push({ test, error: asFailure(message) });
  }
  return { plain, refused };
}
