// Every option's default, in one place: the `@default` docs in ./types.ts,
// the docblock rule (a file may only go below these) and the README's table
// all point here, and so does the engine (host/defaults.ts).
import type { DocblockAllowable, EnvMode, ProjectMode } from './types';

export const DEFAULT_ROOT_SIZE = 1024 ** 3;
/** Enough for any test's own processes and Node's threads; low enough that a fork bomb stops. */
export const DEFAULT_PROCESS_LIMIT = 1024;

export const DEFAULTS = {
  rootSize: DEFAULT_ROOT_SIZE,
  processLimit: DEFAULT_PROCESS_LIMIT,
  /** Ten minutes: far beyond any sane test file, short of a CI job's own limit. */
  fileTimeout: 600_000,
  network: 'host' as 'host' | 'none',
  uid: 'same' as 'same' | 'root',
  envMode: 'inherit' as EnvMode,
  project: { jest: 'overlay' as ProjectMode, cli: 'readonly' as ProjectMode },
  docblock: { allow: [] as DocblockAllowable[] },
} as const;

/**
 * What `envMode: 'clean'` keeps of Jest's environment (plus what `env` sets):
 * what tools need to find programs, speak the user's language and format
 * output, and what Node and this package read themselves. NODE_OPTIONS stays:
 * it is how a project runs Jest at all (--experimental-vm-modules for ESM),
 * and it names flags, not secrets. Everything else (tokens, cloud profiles,
 * SSH agents, proxies with passwords) stays out.
 */
export const CLEAN_ENV_NAMES = [
  'PATH', 'HOME', 'TMPDIR', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TERM', 'COLORTERM', 'NO_COLOR', 'FORCE_COLOR',
  'TZ', 'CI', 'NODE_ENV', 'NODE_OPTIONS',
];
/** Prefixes kept by `envMode: 'clean'`: the locale, and this package's own switches (read inside too). */
export const CLEAN_ENV_PREFIXES = ['LC_', 'MOUNT_SANDBOX_'];

export function keptByCleanEnv(name: string): boolean {
  return CLEAN_ENV_NAMES.includes(name) || CLEAN_ENV_PREFIXES.some((prefix) => name.startsWith(prefix));
}
