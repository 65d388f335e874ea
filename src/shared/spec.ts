// The declarative description of a sandbox. It is plain JSON so that it can
// cross the process boundary into the sandbox's init, be printed by
// `--verbose`, and be handed to tests through the environment's API.

export type UidMode = 'same' | 'root';
export type NetworkMode = 'host' | 'none';
export type Propagation = 'private' | 'slave';

/**
 * Why a mount is in the spec. Code that must find a mount of one kind (the
 * project, the sandboxes' cache, the snapshot folder) asks this, never the
 * wording of `origin`.
 */
export type MountRole =
  /** /usr, /etc and the /bin, /lib… aliases: the host's system, read-only. */
  | 'system'
  /** What must be found at its own path: node's prefix, the tools, this package, Jest, the test file and the modules its config names. */
  | 'toolchain'
  /** A fresh scratch folder: /tmp, /var, /var/tmp, $TMPDIR. */
  | 'tmp'
  /** The fresh, empty $HOME. */
  | 'home'
  /** The sandbox's own /dev, with /dev/shm and /dev/mqueue. */
  | 'dev'
  /** The sandbox's own /proc. */
  | 'proc'
  /** The project (Jest's rootDir, or the CLI's project folder), at its real path and at a symlinked one. */
  | 'project'
  /** node_modules of the project and of its ancestors, and the real homes of linked packages: read-only whatever the project's mode. */
  | 'modules'
  /** Asked for by the user: sandbox options (binds, tmpfs, fixtures, hide) or the CLI's mount flags. */
  | 'user'
  /** The sandboxes' cache in Jest's cacheDirectory, shared by the project's sandboxed files: writable. */
  | 'cache'
  /** The scratch folder bound at the test file's snapshot folder; copied back by the runner. */
  | 'snapshots'
  /** The test file itself, writable, because its inline snapshots are written into it. */
  | 'inline-snapshots';

export const MOUNT_ROLES: readonly MountRole[] = ['system', 'toolchain', 'tmp', 'home', 'dev', 'proc', 'project', 'modules', 'user', 'cache', 'snapshots', 'inline-snapshots'];

interface MountOpBase {
  /** Absolute path inside the sandbox. */
  dest: string;
  /** Why the mount is there; decisions about a mount go by this. */
  role: MountRole;
  /** Where the operation came from, e.g. `--ro-bind /data` or `binds[2]`; for messages only. */
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
