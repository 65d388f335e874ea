// A test file's snapshot folder, as its sandbox sees it: a scratch folder on
// the host, bound at the real folder's path inside, seeded with a copy of
// the file's own .snap. When the file ends, the runner copies back one
// regular file, the name Jest's snapshot resolver gives this test file, and
// applies the one deletion Jest makes (`-u` with no snapshot left). Links,
// FIFOs, folders and every other name the sandbox left there stay out of the
// real folder, and the scratch folder is removed.
//
// Where: `<cacheDirectory>/mount-sandbox-snapshots/<pid>-XXXXXX`. Jest's own
// cacheDirectory is never mounted into a sandbox (only its `mount-sandbox`
// child is), so no other sandbox can reach a scratch folder by path, and a
// folder that a killed Jest left behind is swept by the next run rather than
// cluttering /tmp. Another sandbox of the project can still be handed the
// folder's descriptor (over a socket in the shared sandboxes' cache) and keep
// changing it after its own sandbox is gone: so the runner reads it only
// through descriptors, and removes it without ever following a path into it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '@jest/types';

/** Far beyond a sane snapshot file: a bigger one is not copied back, and its test file fails. */
export const MAX_SNAPSHOT_BYTES = 64 * 1024 ** 2;
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = fs.constants;
/** O_NONBLOCK: opening a FIFO the sandbox planted must not hang the runner; regular files ignore it. */
const READ_UNTRUSTED = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

export interface SnapshotScratch {
  /** The scratch folder on the host: the source of the bind. */
  readonly dir: string;
  /** The real snapshot folder (its realpath), where the bind lands inside. */
  readonly realDir: string;
  /** The real folder as it was when planned: copy-back refuses a folder replaced meanwhile. */
  readonly identity: { dev: number; ino: number };
  /** The only name copied back: `<test file>.snap` with Jest's default resolver. */
  readonly name: string;
  /** sha256 of the copy the sandbox started with; undefined if the host had none. */
  readonly seeded: string | undefined;
}

export interface Settled {
  /** What the file's result should fail with: a snapshot Jest wrote could not be copied back. */
  problem?: string;
  /** Entries the sandbox left that were dropped, for a notice. */
  ignored: string[];
}

const SCRATCH_FOLDER = 'mount-sandbox-snapshots';
const live = new Set<string>();
/** Settled once: a folder kept for a retry is never copied back a second time. */
const settling = new Set<string>();
const swept = new Set<string>();
let exitHook = false;

export function scratchParentOf(cacheDirectory: string): string {
  return path.join(cacheDirectory, SCRATCH_FOLDER);
}

function hash(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Reads a regular file through a descriptor opened without following links; undefined for anything else or too big. */
function readRegular(file: string): { data: Buffer; mode: number; uid: number; gid: number } | 'too-big' | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, READ_UNTRUSTED);
  } catch {
    return undefined;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) return undefined;
    if (stat.size > MAX_SNAPSHOT_BYTES) return 'too-big';
    // Never more than the limit, whatever the file has grown to since the stat: another sandbox may hold its folder open.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(stat.size + 1, 64 * 1024), MAX_SNAPSHOT_BYTES + 1 - length));
      const read = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      length += read;
      if (length > MAX_SNAPSHOT_BYTES) return 'too-big';
    }
    return { data: Buffer.concat(chunks, length), mode: stat.mode, uid: stat.uid, gid: stat.gid };
  } finally {
    fs.closeSync(fd);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Linux's O_PATH, which Node does not export: a handle on a path that opens nothing (no FIFO blocks, no device opens). */
const O_PATH = 0o10000000;
/** Far beyond what a test leaves in a snapshot folder; a sandbox still filling it cannot keep the runner here forever. */
const MAX_REMOVED_ENTRIES = 1_000_000;

/**
 * Removes a tree a sandbox filled, and may still be changing: a sandbox of
 * the same project can hold the folder open and swap a folder inside for a
 * link to a host folder between a check and a use. So nothing below `dir` is
 * ever reached by a path: each folder is pinned with an O_PATH handle
 * (without following a link) and everything in it is named through
 * /proc/self/fd/N, the pinned folder itself. Folders are moved up to `dir`
 * before they are emptied, so that a tree of any depth takes two handles.
 * `dir` itself lies in a folder no sandbox can reach.
 */
export function removeTree(dir: string): void {
  let top: number;
  try {
    top = fs.openSync(dir, O_PATH | O_NOFOLLOW | O_DIRECTORY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const topAt = `/proc/self/fd/${top}`;
    let removed = 0;
    const count = (): void => {
      if (++removed > MAX_REMOVED_ENTRIES) throw new Error(`more than ${MAX_REMOVED_ENTRIES} entries: a sandbox is still filling it`);
    };
    let moved = 0;
    const tag = crypto.randomBytes(6).toString('hex');
    for (let names = openedUp(topAt); names.length > 0; names = openedUp(topAt)) {
      for (const name of names) {
        count();
        const folder = pinFolder(`${topAt}/${name}`);
        if (folder === undefined) {
          unlinkUnlessGone(`${topAt}/${name}`);
          continue;
        }
        try {
          const at = `/proc/self/fd/${folder}`;
          for (const child of openedUp(at)) {
            count();
            const sub = pinFolder(`${at}/${child}`);
            if (sub === undefined) {
              unlinkUnlessGone(`${at}/${child}`);
              continue;
            }
            try {
              // rename() of a folder rewrites its "..": it must be writable, and the sandbox may have closed it.
              fs.chmodSync(`/proc/self/fd/${sub}`, 0o700);
            } finally {
              fs.closeSync(sub);
            }
            // Up to the top, under a name of ours: emptied on a later pass, never reached through a path below.
            fs.renameSync(`${at}/${child}`, `${topAt}/.removing-${tag}-${moved++}`);
          }
        } finally {
          fs.closeSync(folder);
        }
        fs.rmdirSync(`${topAt}/${name}`);
      }
    }
  } finally {
    fs.closeSync(top);
  }
  fs.rmdirSync(dir);
}

/** The names in a pinned folder, after opening it up for its owner: the sandbox may have closed it (mode 000). */
function openedUp(at: string): string[] {
  fs.chmodSync(at, 0o700);
  return fs.readdirSync(at);
}

/** A handle on the folder at `at`, or undefined if it is anything else (a link, a file) or gone. */
function pinFolder(at: string): number | undefined {
  try {
    return fs.openSync(at, O_PATH | O_NOFOLLOW | O_DIRECTORY);
  } catch {
    return undefined;
  }
}

function unlinkUnlessGone(at: string): void {
  try {
    fs.unlinkSync(at);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Removes a scratch folder; one that resists (a process still dying inside wrote to it) is tried again at exit. */
function forget(dir: string, last = false): boolean {
  try {
    removeTree(dir);
    live.delete(dir);
    settling.delete(dir);
    return true;
  } catch (error) {
    if (last) process.stderr.write(`mount-sandbox: could not remove the snapshot scratch folder ${dir}: ${(error as Error).message}\n`);
    return false;
  }
}

/** Scratch folders of runners that are gone (killed, or Ctrl-C): `<pid>-…` whose pid no longer runs. */
function sweep(parent: string): void {
  if (swept.has(parent)) return;
  swept.add(parent);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (pid > 0 && pid !== process.pid && !isAlive(pid)) forget(path.join(parent, name));
  }
}

/**
 * Creates the scratch folder for the snapshot file `snapshotPath`, whose
 * folder exists. Seeds it with a copy of that file if the host has a regular
 * one: Jest reads it to compare, and rewrites it.
 */
export function createScratch(snapshotPath: string, cacheDirectory: string): SnapshotScratch {
  const parent = scratchParentOf(cacheDirectory);
  fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
  sweep(parent);
  if (!exitHook) {
    exitHook = true;
    // process.exit() (--bail, the end of the run) skips every finally: remove what is left.
    process.on('exit', () => {
      for (const dir of live) forget(dir, true);
    });
  }
  const realDir = fs.realpathSync(path.dirname(snapshotPath));
  const stat = fs.statSync(realDir);
  const name = path.basename(snapshotPath);
  const dir = fs.mkdtempSync(path.join(parent, `${process.pid}-`));
  live.add(dir);
  try {
    const host = readRegular(path.join(realDir, name));
    let seeded: string | undefined;
    if (host !== undefined && host !== 'too-big') {
      const fd = fs.openSync(path.join(dir, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
      try {
        fs.writeSync(fd, host.data);
      } finally {
        fs.closeSync(fd);
      }
      seeded = hash(host.data);
    }
    return { dir, realDir, identity: { dev: stat.dev, ino: stat.ino }, name, seeded };
  } catch (error) {
    forget(dir);
    throw error;
  }
}

/** A name the sandbox chose, as a JSON string: printed raw, its control characters would drive the terminal. */
function describeEntry(dir: string, name: string): string {
  try {
    const stat = fs.lstatSync(path.join(dir, name));
    const kind = stat.isSymbolicLink() ? 'symlink' : stat.isDirectory() ? 'folder' : stat.isFIFO() ? 'FIFO' : stat.isSocket() ? 'socket' : stat.isFile() ? 'file' : 'special file';
    return `${JSON.stringify(name)} (${kind})`;
  } catch {
    return JSON.stringify(name);
  }
}

/** Writes `data` as `name` in the folder held open by `dirFd`: a new file renamed over the old entry, never through a link. */
function replaceIn(dirFd: number, name: string, data: Buffer, like: { mode: number; uid: number; gid: number } | undefined): void {
  // /proc/self/fd/N is the opened folder itself: no path component can be swapped under it.
  const at = `/proc/self/fd/${dirFd}`;
  const temp = `${at}/.${name}.${crypto.randomBytes(6).toString('hex')}.mount-sandbox`;
  const fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666);
  try {
    try {
      fs.writeSync(fd, data);
      // Like Jest's in-place write: the file keeps its mode (and, for root, its owner).
      if (like) {
        fs.fchmodSync(fd, like.mode & 0o777);
        if (process.getuid?.() === 0) fs.fchownSync(fd, like.uid, like.gid);
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, `${at}/${name}`);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * Ends the scratch folder. With `copyBack` (the child reported a result, so
 * Jest has saved its snapshots, and the sandbox is gone) the file's .snap
 * goes to the real folder, or is deleted there if Jest deleted it under
 * `-u`. Without it (a crash, a kill, a timeout, an interrupt) nothing goes
 * back: a half-written snapshot must not replace a good one.
 */
export function settleScratch(scratch: SnapshotScratch, copyBack: boolean, updateSnapshot: Config.GlobalConfig['updateSnapshot']): Settled {
  const settled: Settled = { ignored: [] };
  if (!live.has(scratch.dir) || settling.has(scratch.dir)) return settled;
  settling.add(scratch.dir);
  try {
    if (copyBack) copy(scratch, updateSnapshot, settled);
  } catch (error) {
    settled.problem = `mount-sandbox: could not copy the snapshot file ${path.join(scratch.realDir, scratch.name)} back from the sandbox: ${(error as Error).message}`;
  } finally {
    if (!forget(scratch.dir)) setTimeout(() => forget(scratch.dir), 1000).unref();
  }
  return settled;
}

function copy(scratch: SnapshotScratch, updateSnapshot: Config.GlobalConfig['updateSnapshot'], settled: Settled): void {
  const { dir, realDir, name } = scratch;
  // The sandbox owned this folder's root and may have closed it to its owner.
  fs.chmodSync(dir, 0o700);
  settled.ignored = fs.readdirSync(dir).filter((entry) => entry !== name).sort().map((entry) => describeEntry(dir, entry));
  const dirFd = fs.openSync(realDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    const now = fs.fstatSync(dirFd);
    if (now.dev !== scratch.identity.dev || now.ino !== scratch.identity.ino) {
      throw new Error(`the folder ${realDir} was replaced while the file ran; nothing was copied back`);
    }
    const host = readRegular(`/proc/self/fd/${dirFd}/${name}`);
    const hostStat = host !== undefined && host !== 'too-big' ? host : undefined;
    let inside: fs.Stats | undefined;
    try {
      inside = fs.lstatSync(path.join(dir, name));
    } catch {
      inside = undefined;
    }
    if (inside === undefined) {
      // Jest deletes a snapshot file only under -u, when none of its snapshots is left.
      if (scratch.seeded !== undefined && updateSnapshot === 'all' && hostStat !== undefined) fs.unlinkSync(`/proc/self/fd/${dirFd}/${name}`);
      return;
    }
    if (!inside.isFile()) {
      settled.ignored.unshift(describeEntry(dir, name));
      return;
    }
    const written = readRegular(path.join(dir, name));
    if (written === 'too-big') throw new Error(`it is bigger than ${MAX_SNAPSHOT_BYTES / 1024 ** 2} MiB, the most the runner copies back`);
    if (written === undefined) return;
    if (hash(written.data) === scratch.seeded) return;
    replaceIn(dirFd, name, written.data, hostStat);
  } finally {
    fs.closeSync(dirFd);
  }
}
