// The user-facing sandbox options: `testEnvironmentOptions.sandbox` in a
// Jest config, `@jest-environment-options {"sandbox": …}` in a docblock, and
// `mount-sandbox run --config FILE` / `--config-json`. One shape for all of
// them, so the CLI can reproduce exactly what a test saw. Every `@default`
// below is a value of DEFAULTS in ./defaults.ts; nothing else defines them.

export interface BindOption {
  /** Host path; relative paths and `<rootDir>` resolve against the project. */
  source: string;
  /** Path inside the sandbox. @default the source's absolute path */
  target?: string;
  /** Writes reach the host. @default false */
  writable?: boolean;
  /** `slave`: host mounts that appear later under the source show up inside. @default 'private' */
  propagation?: 'private' | 'slave';
  /** Skip silently when the source does not exist. @default false */
  optional?: boolean;
  /** Allow a source or target under /proc, /sys, /dev, /boot, /root, /run or a container runtime socket. @default false */
  allowPrivileged?: boolean;
}

export interface TmpfsOption {
  target: string;
  /** e.g. `64m`, `1g`, or bytes. @default the kernel's (half of RAM) */
  size?: string | number;
}

export type ProjectMode = 'overlay' | 'readonly' | 'writable';

/** `inherit`: the environment Jest runs with, secrets included, as in plain Jest. `clean`: only CLEAN_ENV_NAMES. */
export type EnvMode = 'inherit' | 'clean';

/** What a docblock may do beyond narrowing; each name is an option whose widening values become allowed. */
export const DOCBLOCK_ALLOWABLE = ['binds', 'fixtures', 'project', 'network', 'uid', 'processLimit', 'fileTimeout', 'rootSize', 'envMode'] as const;
export type DocblockAllowable = (typeof DOCBLOCK_ALLOWABLE)[number];

export interface DocblockOption {
  /** Options a test file's docblock may widen. Only in the Jest config. @default DEFAULTS.docblock.allow (none) */
  allow?: DocblockAllowable[];
}

export interface SandboxOptions {
  /** Extra host paths; a string is `SRC[:DST]`, read-only. */
  binds?: Array<string | BindOption>;
  /** Extra empty writable directories; a string is `DST[:SIZE]`. */
  tmpfs?: Array<string | TmpfsOption>;
  /** Size of the root tmpfs. @default DEFAULTS.rootSize (1 GiB) */
  rootSize?: string | number;
  /** Sandbox path → host directory, seen writable, with every change discarded when the file ends. */
  fixtures?: Record<string, string>;
  /**
   * How the project appears: `overlay` writable with writes discarded, `readonly`, or `writable`
   * (writes reach the host: unsafe). node_modules stay read-only in every mode.
   * @default DEFAULTS.project.jest ('overlay', read-only where the kernel refuses overlayfs in a user namespace); DEFAULTS.project.cli ('readonly') for `mount-sandbox run`
   */
  project?: ProjectMode;
  /** Variables to set; `null` unsets one. Applied after envMode. */
  env?: Record<string, string | null>;
  /** Which of Jest's environment variables reach the test. @default DEFAULTS.envMode ('inherit') */
  envMode?: EnvMode;
  /** HOME inside: a fresh, empty directory at this path. @default your HOME's path */
  home?: string;
  /** `none`: a new network namespace with only loopback. @default DEFAULTS.network ('host') */
  network?: 'host' | 'none';
  /** `root`: uid 0 inside, still unprivileged outside. @default DEFAULTS.uid ('same') */
  uid?: 'same' | 'root';
  /** An own UTS namespace with this hostname. @default the host's (no UTS namespace) */
  hostname?: string;
  /** Paths under the project (or another bound tree) that must not be readable: they appear empty. */
  hide?: string[];
  /** The most processes and threads the file may have at once. @default DEFAULTS.processLimit (1024) */
  processLimit?: number;
  /**
   * Milliseconds a whole test file may take before its sandbox is killed and the file fails.
   * Jest's testTimeout cannot stop a synchronous loop; this can. 0 turns it off. @default DEFAULTS.fileTimeout (600000)
   */
  fileTimeout?: number;
  /** What test files' docblocks may widen (Jest config only). @default DEFAULTS.docblock (nothing) */
  docblock?: DocblockOption;
}

export interface CheckedBind {
  /** Absolute host path, as written (resolved against the project), not yet its realpath. */
  source: string;
  target: string;
  writable?: boolean;
  propagation?: 'private' | 'slave';
  optional?: boolean;
  allowPrivileged?: boolean;
}

export interface CheckedTmpfs {
  target: string;
  /** Bytes. */
  size?: number;
}

/**
 * The one typed request every source compiles to: checked, normalized
 * (absolute paths, sizes in bytes, bind and tmpfs objects), and still in the
 * user's vocabulary, so that `mount-sandbox run --config-json` takes it back.
 */
export interface CheckedOptions {
  binds?: CheckedBind[];
  tmpfs?: CheckedTmpfs[];
  rootSize?: number;
  fixtures?: Record<string, string>;
  project?: ProjectMode;
  env?: Record<string, string | null>;
  envMode?: EnvMode;
  home?: string;
  network?: 'host' | 'none';
  uid?: 'same' | 'root';
  hostname?: string;
  hide?: string[];
  processLimit?: number;
  fileTimeout?: number;
  docblock?: { allow: DocblockAllowable[] };
}

/** Where each entry of a merged CheckedOptions came from, for messages and mount origins. */
export interface OptionOrigins {
  binds: string[];
  tmpfs: string[];
  hide: string[];
  fixtures: Record<string, string>;
  /** Per scalar option: the path of the value in effect, e.g. `@jest-environment-options sandbox.project`. */
  scalars: Partial<Record<keyof CheckedOptions, string>>;
}
