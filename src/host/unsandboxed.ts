// Which of the runner's files would run outside a sandbox, and whether that
// is a choice someone made where it can be seen. The trap: next to
// `preset: 'jest-environment-mount-sandbox'`, an explicit `testEnvironment`
// key (ts-jest's config:init writes `testEnvironment: 'node'`) overrides the
// preset's, and every file would quietly run on the host. Such files fail
// before any of their code runs. A file's own `@jest-environment` docblock,
// or the runner option below in the project's config, is a visible choice.
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
  /** Files that go to Jest's own runner: their docblock, or the project, says so visibly. */
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
    `On the host on purpose: a /** @jest-environment ${short} */ docblock runs that one file there; ` +
      `${ALLOW_SWITCH} in the project's config runs there every file of the project that has no mount-sandbox docblock.`,
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
    // isSandboxed said no: with a docblock environment, the file named it itself (Jest rejects a repeated one).
    if (pragmas['jest-environment'] !== undefined || allow) plain.push(test);
    else refused.push({ test, error: asFailure(refusalMessage(config)) });
  }
  return { plain, refused };
}
