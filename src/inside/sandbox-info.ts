// What a test can ask about the sandbox it runs in. Read from the marker the
// sandbox init sets, so it also works in child processes the test starts.
import { SANDBOX_MARKER_VAR, type SandboxChain, type SandboxMarker } from '../shared/sandbox-protocol';
import type { IsolationMode, MountOp, NetworkMode, UidMode } from '../shared/spec';

export interface SandboxInfo {
  /** False outside a sandbox; every other field is then empty. */
  readonly active: boolean;
  readonly mode: IsolationMode | undefined;
  /**
   * How the sandbox holds: `init` (the mounts are locked by a nested user
   * namespace) or `one-node` (the test's own Node built them, and a seccomp
   * filter refuses every mount and namespace call; see the security model).
   */
  readonly chain: SandboxChain | undefined;
  readonly uid: UidMode | undefined;
  readonly network: NetworkMode | undefined;
  readonly hostname: string | undefined;
  /** The mount operations in effect, in the order they were applied. */
  readonly mounts: readonly MountOp[];
  /** Mount points a test may write to: `/` (a tmpfs), every tmpfs and overlay, and every writable bind. */
  readonly writablePaths: readonly string[];
  /** Writable binds: the only places where writes reach the host. */
  readonly hostWritablePaths: readonly string[];
  /** The cap on tasks and what enforces it: a pids cgroup (root), RLIMIT_NPROC (everyone else), or none. */
  readonly processLimit: { kind: 'pids-cgroup' | 'rlimit' | 'none'; max: number } | undefined;
  /** For each overlay (the project, fixtures): `overlay`, `copy` where overlayfs was refused, or `ro-bind`. */
  readonly overlays: Readonly<Record<string, 'overlay' | 'copy' | 'ro-bind'>>;
}

function read(): SandboxMarker | undefined {
  const raw = process.env[SANDBOX_MARKER_VAR];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as SandboxMarker;
  } catch {
    return undefined;
  }
}

export function describeSandbox(marker: SandboxMarker | undefined = read()): SandboxInfo {
  const mounts = marker?.mounts ?? [];
  const hostWritablePaths = mounts.filter((op) => op.type === 'bind').map((op) => op.dest);
  const overlays = marker?.overlays ?? {};
  const discarded = Object.entries(overlays).filter(([, method]) => method !== 'ro-bind').map(([dest]) => dest);
  const writablePaths = marker ? ['/', ...mounts.filter((op) => op.type === 'tmpfs').map((op) => op.dest), ...discarded, ...hostWritablePaths] : [];
  return {
    active: marker !== undefined,
    mode: marker?.mode,
    chain: marker?.chain,
    uid: marker?.uid,
    network: marker?.network,
    hostname: marker?.hostname,
    mounts,
    writablePaths,
    hostWritablePaths,
    processLimit: marker?.processLimit,
    overlays,
  };
}

export const sandbox: SandboxInfo = describeSandbox();
