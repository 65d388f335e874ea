// The declarative description of a sandbox. It is plain JSON so that it can
// cross the process boundary into the sandbox's init, be printed by
// `--verbose`, and be handed to tests through the environment's API.

export type UidMode = 'same' | 'root';
export type NetworkMode = 'host' | 'none';
export type Propagation = 'private' | 'slave';

interface MountOpBase {
  /** Absolute path inside the sandbox. */
  dest: string;
  /** Where the operation came from, e.g. `--ro-bind /data` or `binds[2]`; used in error messages. */
  origin?: string;
}

export interface BindOp extends MountOpBase {
  type: 'bind' | 'ro-bind';
  /** Absolute host path; the launcher replaces it with its realpath before launch. */
  source: string;
  /** Skip silently when the source does not exist (bwrap's --bind-try). */
  optional?: boolean;
  propagation?: Propagation;
}

export interface TmpfsOp extends MountOpBase {
  type: 'tmpfs';
  /** Bytes; omitted means the kernel's default (half of RAM). */
  size?: number;
  mode?: number;
}

export interface DevOp extends MountOpBase {
  type: 'dev';
}

export interface ProcOp extends MountOpBase {
  type: 'proc';
}

/** The sandbox's own POSIX message queues (its IPC namespace's), at /dev/mqueue. */
export interface MqueueOp extends MountOpBase {
  type: 'mqueue';
}

export interface DirOp extends MountOpBase {
  type: 'dir';
  mode?: number;
}

export interface SymlinkOp extends MountOpBase {
  type: 'symlink';
  target: string;
}

/** A host tree seen writable, with every change kept on the sandbox's tmpfs and discarded. */
export interface OverlayOp extends MountOpBase {
  type: 'overlay';
  source: string;
  /** When overlayfs is refused: copy the tree onto the tmpfs, bind it read-only, or fail. */
  fallback: 'copy' | 'ro-bind' | 'fail';
  /** Set when overlayfs is known not to work for this tree (and why): the fallback runs directly. */
  skipOverlay?: string;
}

/** Makes a path under a bound tree unreadable: it appears as an empty directory or file. */
export interface HideOp extends MountOpBase {
  type: 'hide';
}

export type MountOp = BindOp | TmpfsOp | DevOp | ProcOp | MqueueOp | DirOp | SymlinkOp | OverlayOp | HideOp;
export type MountOpType = MountOp['type'];

export interface SandboxSpec {
  /** Size of the tmpfs that becomes `/`, in bytes. */
  rootSize: number;
  /** `same`: the caller's uid and gid inside; `root`: uid 0 inside, still unprivileged outside. */
  uid: UidMode;
  network: NetworkMode;
  /** When set, the sandbox gets its own UTS namespace with this hostname. */
  hostname?: string;
  /**
   * The most tasks (processes and threads) the command may have at once, as
   * RLIMIT_NPROC. Counted per user namespace (Linux >= 5.14), so per sandbox.
   */
  processLimit: number;
  /** Applied in order, like bubblewrap's setup ops: a mount hides what earlier ones put below it. */
  mounts: MountOp[];
  /** Working directory inside; must exist once the mounts are made. */
  cwd: string;
  /** The complete environment of the command. */
  env: Record<string, string>;
}

/** How the namespaces are created; chosen by the launcher from what the host allows. */
export type IsolationMode =
  /** Mounts made in one user namespace, the command run in a nested one: the kernel locks every mount. */
  | 'userns'
  /** Real root without user namespaces: mounts are not locked, so the command runs with no capabilities at all. */
  | 'root-no-userns';

export function describeOp(op: MountOp): string {
  switch (op.type) {
    case 'bind':
    case 'ro-bind':
      return `${op.type} ${op.source} -> ${op.dest}${op.optional ? ' (optional)' : ''}${op.propagation === 'slave' ? ' (slave)' : ''}`;
    case 'tmpfs':
      return `tmpfs ${op.dest}${op.size !== undefined ? ` size=${op.size}` : ''}${op.mode !== undefined ? ` mode=${op.mode.toString(8)}` : ''}`;
    case 'symlink':
      return `symlink ${op.dest} -> ${op.target}`;
    case 'dir':
      return `dir ${op.dest}${op.mode !== undefined ? ` mode=${op.mode.toString(8)}` : ''}`;
    case 'overlay':
      return `overlay ${op.source} -> ${op.dest} (else ${op.fallback})`;
    case 'dev':
    case 'proc':
    case 'mqueue':
    case 'hide':
      return `${op.type} ${op.dest}`;
  }
}
