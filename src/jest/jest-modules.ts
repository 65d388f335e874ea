// The host's Jest packages. They are peer dependencies: the runner, the
// child and the environment must use the very copies Jest itself loaded, or
// Jest's internal instanceof checks and registries break (jestjs/jest#15519).
import path from 'node:path';
import type { JestModulePaths } from './protocol';

function resolveFrom(name: string, from: string[]): string {
  return require.resolve(name, { paths: from });
}

let cached: (JestModulePaths & { jestDocblock: string; jestSnapshot: string }) | undefined;

export function jestModules(): JestModulePaths & { jestDocblock: string; jestSnapshot: string } {
  if (cached) return cached;
  const jestRunner = require.resolve('jest-runner');
  const near = [path.dirname(jestRunner), __dirname];
  cached = {
    jestRunner,
    jestRuntime: resolveFrom('jest-runtime', near),
    jestHasteMap: resolveFrom('jest-haste-map', near),
    jestResolve: resolveFrom('jest-resolve', near),
    jestDocblock: resolveFrom('jest-docblock', near),
    jestSnapshot: resolveFrom('jest-snapshot', [path.dirname(resolveFrom('jest-circus', near)), ...near]),
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
