// The interpreter: runs a spec's mount operations inside the freshly born
// namespaces, in bubblewrap's order. Synchronous throughout: nothing here may
// touch the libuv threadpool.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SandboxError } from '../shared/errors';
import { copyInstead } from './copy-tree';
import { resolveUnder } from './resolve-under';
import * as sys from '../native/syscalls';
import {
  MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_RELATIME, MS_REMOUNT, MS_SLAVE,
} from '../native/mount-flags';
import { mountHolding, mountsAtOrBelow, parseMountInfo, type MountInfoEntry } from './mountinfo';
import { describeOp, type BindOp, type HideOp, type MountOp, type OverlayOp, type SandboxSpec } from '../shared/spec';

/** A host directory that our private mount namespace may cover: the host never sees it. */
const BASE = '/tmp';
const NEW_ROOT = '/newroot';
const OLD_ROOT = '/oldroot';
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
const DEV_LINKS: ReadonlyArray<[string, string]> = [
  ['fd', '/proc/self/fd'], ['stdin', '/proc/self/fd/0'], ['stdout', '/proc/self/fd/1'], ['stderr', '/proc/self/fd/2'],
];
/** Kernel knobs under a fresh /proc that must stay read-only (bubblewrap's cover_proc_dirs). */
const PROC_READONLY = ['sys', 'sysrq-trigger', 'irq', 'bus'];

function inNewRoot(p: string, followLast = false): string {
  return resolveUnder(NEW_ROOT, p, followLast);
}

function fail(op: MountOp, what: string, cause: unknown): never {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const described = describeOp(op);
  throw new SandboxError('setup', `${described}${op.origin ? ` (${op.origin})` : ''}: ${what}: ${reason}`, {
    cause,
    op: described,
    path: op.dest,
    ...(op.origin !== undefined ? { origin: op.origin } : {}),
    ...syscallOf(cause),
  });
}

/** The failed call and its errno, from a SyscallError or from one of Node's own fs errors. */
function syscallOf(cause: unknown): { syscall?: string; errno?: string } {
  if (sys.isSyscallError(cause)) return { syscall: cause.syscall, errno: cause.code };
  const e = cause as NodeJS.ErrnoException | undefined;
  return typeof e?.code === 'string' && typeof e.syscall === 'string' ? { syscall: e.syscall, errno: e.code } : {};
}

function ensureDir(p: string, mode = 0o755): void {
  fs.mkdirSync(p, { recursive: true, mode });
}

/** Creates the mount point; it must match the source's type, and never be a symlink. */
function ensureMountPoint(op: MountOp, dest: string, directory: boolean): void {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(dest);
  } catch {
    stat = undefined;
  }
  if (stat?.isSymbolicLink()) fail(op, 'cannot mount', new Error(`the destination is a symlink (to ${fs.readlinkSync(dest)}) inside the sandbox; mount at its target instead`));
  if (stat) {
    if (stat.isDirectory() !== directory) fail(op, 'cannot mount', new Error(`the destination exists as a ${stat.isDirectory() ? 'directory' : 'file'} but the source is a ${directory ? 'directory' : 'file'}`));
    return;
  }
  try {
    ensureDir(directory ? dest : path.dirname(dest));
    if (!directory) fs.closeSync(fs.openSync(dest, fs.constants.O_CREAT | fs.constants.O_WRONLY, 0o444));
  } catch (error) {
    fail(op, `cannot create the mount point ${dest.slice(NEW_ROOT.length) || '/'}`, readOnlyAncestor(dest) ?? error);
  }
}

/** Recursive mkdir reports ENOENT where the truth is a read-only parent: find it, to say so. */
function readOnlyAncestor(dest: string): Error | undefined {
  let at = path.dirname(dest);
  while (!fs.existsSync(at) && at !== path.dirname(at)) at = path.dirname(at);
  const holder = mountHolding(readMountInfo(), at);
  if (holder === undefined || (holder.flags & MS_RDONLY) === 0) return undefined;
  // Shaped like Node's own fs errors, so that the errno and the call reach the caller as fields.
  return Object.assign(new Error(`EROFS: ${at.slice(NEW_ROOT.length) || '/'} is read-only inside the sandbox, and a mount point must exist; overlay its parent (fixtures) or pick a path that exists`), {
    code: 'EROFS', syscall: 'mkdir',
  });
}

function readMountInfo(): ReturnType<typeof parseMountInfo> {
  return parseMountInfo(fs.readFileSync(`${OLD_ROOT}/proc/self/mountinfo`, 'utf8'));
}

/**
 * The host's mounts as this namespace saw them at the start (under
 * /oldroot), read once: a bind's submounts are the source's, so there is no
 * need to read mountinfo again after every bind.
 */
let hostMounts: MountInfoEntry[] = [];

/**
 * Remounts a fresh bind and every submount below it, keeping each mount's own
 * flags: in a user namespace nosuid/nodev/noexec/ro may be locked, and a
 * remount that drops one fails with EPERM. Submounts matter: a non-recursive
 * remount leaves them writable (bubblewrap #11).
 */
function remountTree(op: MountOp, source: string, dest: string, extraFlags: number): void {
  const below = mountsAtOrBelow(hostMounts, source);
  // The bind's own root takes the flags of the host mount that holds the source.
  const holder = below[0]?.mountPoint === source ? below[0] : mountHolding(hostMounts, source);
  const targets = [
    { point: dest, flags: holder?.flags ?? 0 },
    ...below.filter((entry) => entry.mountPoint !== source).map((entry) => ({ point: dest + entry.mountPoint.slice(source.length), flags: entry.flags })),
  ];
  for (const { point, flags } of targets) {
    try {
      sys.mount(null, point, null, MS_BIND | MS_REMOUNT | flags | extraFlags);
    } catch (error) {
      // A submount we cannot even look at (EACCES) is nothing the command can reach either.
      if (point !== dest && sys.isSyscallError(error) && (error.code === 'EACCES' || error.code === 'ENOENT')) continue;
      fail(op, `cannot remount ${point.slice(NEW_ROOT.length)}`, error);
    }
  }
}

function applyBind(op: BindOp): void {
  const source = path.join(OLD_ROOT, op.source);
  const dest = inNewRoot(op.dest);
  let directory: boolean;
  try {
    directory = fs.statSync(source).isDirectory();
  } catch (error) {
    if (op.optional) return;
    fail(op, 'the source vanished after validation', error);
  }
  ensureMountPoint(op, dest, directory);
  try {
    sys.mount(source, dest, null, MS_BIND | MS_REC);
    // The whole tree was made a slave of the host; a private bind must not receive mounts the host makes later.
    sys.mount(null, dest, null, (op.propagation === 'slave' ? MS_SLAVE : MS_PRIVATE) | MS_REC);
  } catch (error) {
    fail(op, 'bind mount failed', error);
  }
  remountTree(op, source, dest, MS_NOSUID | MS_NODEV | (op.type === 'ro-bind' ? MS_RDONLY : 0));
}

function mountTmpfs(op: MountOp, dest: string, mode: number, size: number | undefined, flags = MS_NOSUID | MS_NODEV): void {
  ensureMountPoint(op, dest, true);
  const data = `mode=${mode.toString(8)}${size !== undefined ? `,size=${size}` : ''}`;
  try {
    sys.mount('tmpfs', dest, 'tmpfs', flags, data);
  } catch (error) {
    fail(op, 'tmpfs mount failed', error);
  }
}

function applyDev(op: MountOp): void {
  const dest = inNewRoot(op.dest);
  // nodev on the tmpfs itself; the device nodes are binds with their own flags.
  mountTmpfs(op, dest, 0o755, 1024 * 1024, MS_NOSUID | MS_NODEV | MS_NOEXEC);
  for (const name of DEVICES) {
    const node = path.join(dest, name);
    fs.closeSync(fs.openSync(node, 'w', 0o666));
    try {
      sys.mount(path.join(OLD_ROOT, 'dev', name), node, null, MS_BIND);
    } catch (error) {
      fail(op, `cannot bind /dev/${name}`, error);
    }
    // Device binds keep nodev off, or the nodes could not be opened.
    remountTree(op, path.join(OLD_ROOT, 'dev', name), node, MS_NOSUID);
  }
  for (const [name, target] of DEV_LINKS) fs.symlinkSync(target, path.join(dest, name));
}

/**
 * Where the sandbox's /proc comes from. `mount`: a fresh procfs, which only
 * the owner of the pid namespace may mount (the init chain, where pid 1 is
 * this process). `inherited`: the pid namespace belongs to the user
 * namespace above ours (the one-Node chain), so util-linux mounted its procfs
 * at /proc before we started (--mount-proc), and it is bound from the old
 * root; pid 1 of that chain also randomised the pids already.
 */
export type ProcSource = 'mount' | 'inherited';

function applyProc(op: MountOp, source: ProcSource): void {
  const dest = inNewRoot(op.dest);
  ensureMountPoint(op, dest, true);
  if (source === 'inherited') {
    try {
      // Not recursive: what lies below is the host's procfs, which this one covers.
      sys.mount(path.join(OLD_ROOT, 'proc'), dest, null, MS_BIND);
    } catch (error) {
      fail(op, 'cannot bind the pid namespace\'s procfs', error);
    }
    const holder = mountHolding(hostMounts, path.join(OLD_ROOT, 'proc'));
    try {
      sys.mount(null, dest, null, MS_BIND | MS_REMOUNT | (holder?.flags ?? 0) | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    } catch (error) {
      fail(op, 'cannot remount the pid namespace\'s procfs', error);
    }
  } else {
    try {
      sys.mount('proc', dest, 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC);
    } catch (error) {
      fail(op, 'proc mount failed (a masked /proc, as in some containers, refuses it)', error);
    }
    // Every sandbox would otherwise give its command the same pid, and tools that
    // name temporary files after the pid (write-file-atomic, in Jest's transform
    // cache) collide between sandboxes that share a folder. Start the pids at a
    // random point; only the owner of the pid namespace may, and only before
    // /proc/sys turns read-only below.
    try {
      fs.writeFileSync(path.join(dest, 'sys', 'kernel', 'ns_last_pid'), String(crypto.randomInt(1000, 60000)));
    } catch {
      // An older kernel without ns_last_pid: the pids stay low, which only matters for those tools.
    }
  }
  // Keeps the flags it has (an inherited procfs has them locked) and adds read-only.
  const procFlags = (mountHolding(readMountInfo(), dest)?.flags ?? (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME)) & ~MS_RDONLY;
  for (const name of PROC_READONLY) {
    const p = path.join(dest, name);
    if (!fs.existsSync(p)) continue;
    try {
      sys.mount(p, p, null, MS_BIND | MS_REC);
      sys.mount(null, p, null, MS_BIND | MS_REMOUNT | MS_RDONLY | procFlags);
    } catch (error) {
      fail(op, `cannot cover /proc/${name}`, error);
    }
  }
}

/**
 * The IPC namespace's own message queues. The sandbox's /dev is a fresh
 * tmpfs, so without this there is no /dev/mqueue at all; mq_open works either
 * way, this only lets tools list and remove the queues. Mountable because the
 * user namespace that owns the IPC namespace is ours: unshare creates the
 * user namespace first and every other one as its child.
 */
function applyMqueue(op: MountOp): void {
  const dest = inNewRoot(op.dest);
  ensureMountPoint(op, dest, true);
  try {
    sys.mount('mqueue', dest, 'mqueue', MS_NOSUID | MS_NODEV | MS_NOEXEC);
  } catch (error) {
    fail(op, 'mqueue mount failed (it needs an IPC namespace of the sandbox\'s own)', error);
  }
}

/** overlayfs option values separate with `,` and `:`; a path containing them must escape them. */
function escapeOverlayPath(p: string): string {
  return p.replace(/([\\,:])/g, '\\$1');
}

/** What each overlay op ended up as, by destination: reported to the launcher. */
export type OverlayMethod = 'overlay' | 'copy' | 'ro-bind';

let overlayCount = 0;

function applyOverlay(op: OverlayOp, methods: Record<string, OverlayMethod>): void {
  const source = path.join(OLD_ROOT, op.source);
  const dest = inNewRoot(op.dest);
  ensureMountPoint(op, dest, true);
  // Upper and work directories live on the base tmpfs, outside the new root: the
  // test sees only the merged tree, and everything it wrote dies with the sandbox.
  const scratch = `/overlay-${overlayCount++}`;
  fs.mkdirSync(`${scratch}/upper`, { recursive: true, mode: 0o755 });
  // The merged root takes the upper directory's mode: keep the tree's own.
  try {
    fs.chmodSync(`${scratch}/upper`, fs.statSync(source).mode & 0o7777);
  } catch {
    // an unreadable source fails below, with the mount's own error
  }
  fs.mkdirSync(`${scratch}/work`, { mode: 0o755 });
  const data = `lowerdir=${escapeOverlayPath(source)},upperdir=${scratch}/upper,workdir=${scratch}/work`;
  let refusal: unknown = op.skipOverlay === undefined ? undefined : new Error(op.skipOverlay);
  // userxattr is what lets an unprivileged user namespace mount overlayfs (Linux >= 5.11); real root can do without.
  for (const options of op.skipOverlay === undefined ? [`${data},userxattr`, data] : []) {
    try {
      sys.mount('overlay', dest, 'overlay', MS_NOSUID | MS_NODEV, options);
      methods[op.dest] = 'overlay';
      return;
    } catch (error) {
      refusal = error;
    }
  }
  switch (op.fallback) {
    case 'copy':
      copyInstead(op, source, dest, `${scratch}/copy`, refusal);
      methods[op.dest] = 'copy';
      return;
    case 'ro-bind':
      applyBind({ type: 'ro-bind', source: op.source, dest: op.dest, role: op.role, ...(op.origin !== undefined ? { origin: op.origin } : {}) });
      methods[op.dest] = 'ro-bind';
      return;
    case 'fail':
      fail(op, 'overlayfs cannot be used', refusal ?? new Error('it needs Linux >= 5.11 in a user namespace'));
  }
}

/** An empty, read-only stand-in over `dest`; a path that does not exist has nothing to hide. */
function applyHide(op: HideOp): void {
  const dest = inNewRoot(op.dest);
  const stat = fs.lstatSync(dest, { throwIfNoEntry: false });
  if (stat === undefined) return;
  try {
    if (stat.isDirectory()) {
      sys.mount('tmpfs', dest, 'tmpfs', MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 'size=4k,nr_inodes=1,mode=000');
    } else {
      const empty = '/hidden-empty-file';
      if (!fs.existsSync(empty)) fs.closeSync(fs.openSync(empty, 'w', 0o000));
      sys.mount(empty, dest, null, MS_BIND);
      sys.mount(null, dest, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    }
  } catch (error) {
    fail(op, 'cannot hide it', error);
  }
}

function applySymlink(op: Extract<MountOp, { type: 'symlink' }>): void {
  const dest = inNewRoot(op.dest);
  ensureDir(path.dirname(dest));
  try {
    fs.symlinkSync(op.target, dest);
  } catch (error) {
    // Idempotent like bubblewrap: an identical link is fine, anything else is a conflict.
    const existing = fs.lstatSync(dest, { throwIfNoEntry: false });
    if (existing?.isSymbolicLink() && fs.readlinkSync(dest) === op.target) return;
    fail(op, 'cannot create the symlink', error);
  }
}

function applyOp(op: MountOp, methods: Record<string, OverlayMethod>, options: BuildOptions): void {
  switch (op.type) {
    case 'overlay':
      return applyOverlay(op, methods);
    case 'hide':
      return applyHide(op);
    case 'bind':
    case 'ro-bind':
      return applyBind(op);
    case 'tmpfs':
      return mountTmpfs(op, inNewRoot(op.dest), op.mode ?? 0o755, op.size);
    case 'dir': {
      // chmod follows a last symlink: resolve it here, inside.
      const dest = inNewRoot(op.dest, true);
      ensureDir(dest);
      if (op.mode !== undefined) fs.chmodSync(dest, op.mode);
      return;
    }
    case 'symlink':
      return applySymlink(op);
    case 'dev':
      return applyDev(op);
    case 'proc':
      return applyProc(op, options.proc);
    case 'mqueue':
      return applyMqueue(op);
    default:
      // Only reachable with a spec that skipped validation: our bug, never the user's.
      return unknownOp(op);
  }
}

function unknownOp(op: never): never {
  throw new SandboxError('internal', `the sandbox interpreter has no operation ${JSON.stringify((op as { type?: unknown }).type)}`, { op: JSON.stringify(op) });
}

function mountNamespaceOfEveryThread(procRoot: string): Set<string> {
  const tasks = fs.readdirSync(`${procRoot}/self/task`);
  return new Set(tasks.map((tid) => fs.readlinkSync(`${procRoot}/self/task/${tid}/ns/mnt`)));
}

/**
 * Builds the new root and makes it `/`. On return the host's root is
 * detached and unreachable, and the cwd is `/`.
 */
export interface BuildReport {
  overlays: Record<string, OverlayMethod>;
  /** Milliseconds per step, in order: what `--verbose` shows of the setup. */
  steps: Array<[string, number]>;
}

export interface BuildOptions {
  proc: ProcSource;
  /**
   * Host files this process still holds after the old root is gone: in the
   * one-Node chain, its own executable, which /proc/self/exe names. Their
   * mounts are made read-only in this namespace first, so that no chmod,
   * chown or utimes through that link reaches a writable host mount.
   */
  pinned: readonly string[];
}

/** Makes each pinned file's mount (our namespace's copy of it) read-only, keeping its locked flags. */
function pinReadOnly(pinned: ReadonlyArray<readonly [file: string, real: string]>): void {
  const entries = readMountInfo();
  for (const [file, real] of pinned) {
    const inOldRoot = path.join(OLD_ROOT, real);
    const holder = mountHolding(entries, inOldRoot);
    if (holder === undefined || (holder.flags & MS_RDONLY) !== 0) continue;
    try {
      sys.mount(null, holder.mountPoint, null, MS_BIND | MS_REMOUNT | MS_RDONLY | holder.flags);
    } catch (error) {
      throw new SandboxError('setup', `cannot make the mount that holds ${file} (${holder.mountPoint.slice(OLD_ROOT.length) || '/'}) read-only in the sandbox's namespace: ${(error as Error).message}`, {
        cause: error, path: file, ...syscallOf(error),
      });
    }
  }
}

export function buildRoot(spec: SandboxSpec, options: BuildOptions = { proc: 'mount', pinned: [] }): BuildReport {
  const methods: Record<string, OverlayMethod> = {};
  const steps: Array<[string, number]> = [];
  let last = performance.now();
  const step = (name: string): void => {
    const now = performance.now();
    steps.push([name, now - last]);
    last = now;
  };
  // Resolved while the host's root is still ours: its symlinks are absolute host paths.
  const pinned = options.pinned.map((file) => [file, fs.realpathSync(file)] as const);
  const previousUmask = process.umask(0);
  try {
    // Nothing we mount may propagate back to the host.
    sys.mount(null, '/', null, MS_SLAVE | MS_REC);
    sys.mount('tmpfs', BASE, 'tmpfs', MS_NOSUID | MS_NODEV, `mode=755,size=${spec.rootSize}`);
    process.chdir(BASE);
    fs.mkdirSync(`.${NEW_ROOT}`, 0o755);
    fs.mkdirSync(`.${OLD_ROOT}`, 0o755);
    sys.mount(`.${NEW_ROOT}`, `.${NEW_ROOT}`, null, MS_BIND | MS_REC);
    sys.pivotRoot(BASE, `.${OLD_ROOT}`);
    process.chdir('/');
    hostMounts = readMountInfo().filter((entry) => entry.mountPoint === OLD_ROOT || entry.mountPoint.startsWith(`${OLD_ROOT}/`));
    step('base tmpfs, first pivot_root, host mounts read');

    for (const op of spec.mounts) {
      applyOp(op, methods, options);
      step(describeOp(op));
    }
    if (pinned.length > 0) {
      pinReadOnly(pinned);
      step('the mount of this process\'s own executable made read-only');
    }

    // The kernel applies mounts per namespace, but threads that entered another
    // one (fact 1 in DEVELOPERS.md) would see the host: refuse to go on.
    const namespaces = mountNamespaceOfEveryThread(`${OLD_ROOT}/proc`);
    if (namespaces.size !== 1) {
      throw new SandboxError('internal', `threads of the sandbox init are in ${namespaces.size} mount namespaces (${[...namespaces].join(', ')})`);
    }

    sys.mount(OLD_ROOT, OLD_ROOT, null, MS_REC | MS_PRIVATE);
    sys.umount2(OLD_ROOT, MNT_DETACH);
    process.chdir(NEW_ROOT);
    sys.pivotRoot('.', '.');
    sys.umount2('.', MNT_DETACH);
    process.chdir('/');
    step('thread check, old root detached, final pivot_root');
    return { overlays: methods, steps };
  } finally {
    process.umask(previousUmask);
  }
}
