// The host's Jest packages. The runner, the child and the environment must
// use the very copies Jest itself loaded, or Jest's internal instanceof checks
// and registries break (jestjs/jest#15519).
//
// They are found by walking Jest's own dependency chain, from the project's
// `jest` (our one Jest peer) down: jest → @jest/core → jest-config, which
// resolves the default runner, test runner and `testEnvironment: 'node'` for
// Jest, → jest-runner → jest-runtime and friends. Each step is a declared
// dependency of the package it is resolved from, so this works in every
// layout: npm's and yarn's hoisted node_modules, and pnpm's isolated one
// (`hoist=false`), where only `jest` and this package are visible from here.
import path from 'node:path';
import { SandboxError } from './errors';
import type { JestModulePaths } from './jest-protocol';

export interface JestModules extends JestModulePaths {
  jestDocblock: string;
  jestSnapshot: string;
  /** The jest-environment-node that jest-config gives `testEnvironment: 'node'`; the sandbox's environment extends it. */
  jestEnvironmentNode: string;
}

/** Resolves `name` as `from` (a package folder) would; the error names the chain that broke. */
function resolveFrom(name: string, from: string, fromName: string): string {
  try {
    return require.resolve(name, { paths: [from] });
  } catch (error) {
    throw new SandboxError('host', `cannot find ${name}, a dependency of Jest's ${fromName} (${from}): ${(error as Error).message.split('\n')[0]}`, {
      hint: 'install jest in the project (npm install --save-dev jest), and reinstall node_modules if it is incomplete',
    });
  }
}

/** The project's `jest`: our peer, visible from this package; the project folder as a fallback (a linked checkout of this package). */
function findJest(): string {
  for (const from of [__dirname, process.cwd()]) {
    try {
      return packageRoot(require.resolve('jest', { paths: [from] }));
    } catch {
      // try the next place
    }
  }
  throw new SandboxError('host', `cannot find the package jest from ${__dirname} or from ${process.cwd()}`, {
    hint: 'jest-environment-mount-sandbox runs inside Jest: install jest in the project (npm install --save-dev jest)',
  });
}

let cached: JestModules | undefined;

export function jestModules(): JestModules {
  if (cached) return cached;
  const jest = findJest();
  const core = packageRoot(resolveFrom('@jest/core', jest, 'jest'));
  const config = packageRoot(resolveFrom('jest-config', core, '@jest/core'));
  const jestRunner = resolveFrom('jest-runner', config, 'jest-config');
  const runner = packageRoot(jestRunner);
  const circus = packageRoot(resolveFrom('jest-circus', config, 'jest-config'));
  cached = {
    jestRunner,
    jestRuntime: resolveFrom('jest-runtime', runner, 'jest-runner'),
    jestHasteMap: resolveFrom('jest-haste-map', runner, 'jest-runner'),
    jestResolve: resolveFrom('jest-resolve', runner, 'jest-runner'),
    jestDocblock: resolveFrom('jest-docblock', runner, 'jest-runner'),
    jestSnapshot: resolveFrom('jest-snapshot', circus, 'jest-circus'),
    jestEnvironmentNode: resolveFrom('jest-environment-node', config, 'jest-config'),
  };
  return cached;
}

/** The package folder of a resolved module file (…/node_modules/jest-runner/build/index.js → …/jest-runner). */
export function packageRoot(modulePath: string): string {
  const marker = `${path.sep}node_modules${path.sep}`;
  const at = modulePath.lastIndexOf(marker);
  if (at < 0) return path.dirname(modulePath);
  const rest = modulePath.slice(at + marker.length).split(path.sep);
  return path.join(modulePath.slice(0, at + marker.length), ...(rest[0].startsWith('@') ? rest.slice(0, 2) : rest.slice(0, 1)));
}
