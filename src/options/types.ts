// The user-facing sandbox options: `testEnvironmentOptions.sandbox` in a
// Jest config, `@jest-environment-options {"sandbox": …}` in a docblock, and
// `mount-sandbox run --config FILE`. One shape for all three, so the CLI can
// reproduce exactly what a test saw.

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

export interface SandboxOptions {
  /** Extra host paths; a string is `SRC[:DST]`, read-only. */
  binds?: Array<string | BindOption>;
  /** Extra empty writable directories; a string is `DST[:SIZE]`. */
  tmpfs?: Array<string | TmpfsOption>;
  /** Size of the root tmpfs. @default '1g' */
  rootSize?: string | number;
  /** Sandbox path → host directory, seen writable, with every change discarded when the file ends. */
  fixtures?: Record<string, string>;
  /**
   * How the project appears: `overlay` writable with writes discarded, `readonly`, or `writable`
   * (writes reach the host: unsafe). node_modules stay read-only in every mode.
   * @default 'overlay' where the kernel allows overlayfs in a user namespace, else 'readonly'
   */
  project?: ProjectMode;
  /** Variables to set; `null` unsets one. */
  env?: Record<string, string | null>;
  /** HOME inside: a fresh, empty directory at this path. @default your HOME's path */
  home?: string;
  /** `none`: a new network namespace with only loopback. @default 'host' */
  network?: 'host' | 'none';
  /** `root`: uid 0 inside, still unprivileged outside. @default 'same' */
  uid?: 'same' | 'root';
  /** An own UTS namespace with this hostname. */
  hostname?: string;
  /** Paths under the project (or another bound tree) that must not be readable: they appear empty. */
  hide?: string[];
  /** The most processes and threads the file may have at once. @default 1024 */
  processLimit?: number;
  /**
   * Milliseconds a whole test file may take before its sandbox is killed and the file fails.
   * Jest's testTimeout cannot stop a synchronous loop; this can. 0 turns it off. @default 600000
   */
  fileTimeout?: number;
}
