// The copy that stands in for an overlay where overlayfs is refused (a tree
// of another owner, as /etc is for everyone but root). Synchronous, like the
// rest of the sandbox init. It copies what the caller may read and leaves out
// the rest: an unprivileged user cannot read /etc/shadow on the host either,
// so the copy shows no more than the host already does.
import fs from 'node:fs';
import path from 'node:path';
import { SandboxError } from '../shared/errors';
import * as sys from '../native/syscalls';
import { MS_BIND, MS_NODEV, MS_NOSUID, MS_REC, MS_REMOUNT } from '../native/mount-flags';
import { describeOp, type OverlayOp } from '../shared/spec';

export interface CopyReport {
  /** Paths relative to the source that were left out, each with the reason. */
  skipped: Array<{ path: string; reason: string }>;
}

/** errno codes that mean "not yours to read", as opposed to a copy that broke. */
const UNREADABLE = new Set(['EACCES', 'EPERM']);

function code(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** A failure with the path, relative to the source, that it happened at; the errno stays in the message. */
export class CopyFailure extends Error {
  constructor(readonly relativePath: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

function copyFailed(rel: string, error: unknown): Error {
  return error instanceof CopyFailure ? error : new CopyFailure(rel, error);
}

/**
 * Copies `source` into the new directory `dest`: directories, regular files
 * and symlinks (verbatim), with their modes and timestamps. Files and folders
 * the caller cannot read are skipped and reported; so are sockets, fifos and
 * devices, which a copy cannot recreate. Anything else that fails (ENOSPC on
 * a full tmpfs, say) throws, naming the path.
 */
export function copyReadableTree(source: string, dest: string): CopyReport {
  const skipped: CopyReport['skipped'] = [];
  const top = fs.statSync(source);
  if (!top.isDirectory()) throw new Error(`${source} is not a directory`);
  let topEntries: fs.Dirent[];
  try {
    topEntries = fs.readdirSync(source, { withFileTypes: true });
  } catch (error) {
    throw copyFailed('', error);
  }
  copyDirectory(source, dest, '', top, topEntries, skipped);
  return { skipped };
}

function copyDirectory(source: string, dest: string, rel: string, stat: fs.Stats, entries: fs.Dirent[], skipped: CopyReport['skipped']): void {
  try {
    // Owner-writable while it fills; its own mode once full (a 0555 folder would refuse its children).
    fs.mkdirSync(dest, { mode: 0o700 });
    for (const entry of entries) copyEntry(path.join(source, entry.name), path.join(dest, entry.name), rel ? `${rel}/${entry.name}` : entry.name, skipped);
    fs.chmodSync(dest, stat.mode & 0o7777);
    fs.utimesSync(dest, stat.atime, stat.mtime);
  } catch (error) {
    throw copyFailed(rel, error);
  }
}

function copyEntry(source: string, dest: string, rel: string, skipped: CopyReport['skipped']): void {
  const stat = fs.lstatSync(source);
  if (stat.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(source), dest);
    fs.lutimesSync(dest, stat.atime, stat.mtime);
    return;
  }
  if (stat.isDirectory()) {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(source, { withFileTypes: true });
    } catch (error) {
      if (!UNREADABLE.has(code(error) ?? '')) throw copyFailed(rel, error);
      skipped.push({ path: `${rel}/`, reason: code(error) ?? 'unreadable' });
      return;
    }
    copyDirectory(source, dest, rel, stat, entries, skipped);
    return;
  }
  if (!stat.isFile()) {
    skipped.push({ path: rel, reason: stat.isFIFO() ? 'a FIFO' : stat.isSocket() ? 'a socket' : 'not a file, folder or symlink' });
    return;
  }
  try {
    // The source is opened first: an unreadable one fails before the destination exists. The destination is ours.
    fs.copyFileSync(source, dest, fs.constants.COPYFILE_EXCL);
  } catch (error) {
    if (!UNREADABLE.has(code(error) ?? '')) throw copyFailed(rel, error);
    skipped.push({ path: rel, reason: code(error) ?? 'unreadable' });
    return;
  }
  fs.chmodSync(dest, stat.mode & 0o7777);
  fs.utimesSync(dest, stat.atime, stat.mtime);
}

/**
 * The copy fallback. The copy is made on the base tmpfs, then bound over the
 * destination: the destination may itself be a read-only bind of the very
 * tree being copied (fixtures: {'/etc': '/etc'} over the default /etc), so
 * copying into it would copy a tree onto itself. What the caller cannot read
 * is left out, with a notice naming it: the host does not show it to them
 * either.
 */
export function copyInstead(op: OverlayOp, source: string, dest: string, staging: string, refusal: unknown): void {
  let report: CopyReport;
  try {
    report = copyReadableTree(source, staging);
  } catch (error) {
    const full = error instanceof Error && /ENOSPC/.test(error.message);
    const at = error instanceof CopyFailure ? ` at ${path.join(op.source, error.relativePath)}` : '';
    throw new SandboxError('setup', `${describeOp(op)}${op.origin ? ` (${op.origin})` : ''}: overlayfs was refused, and copying the tree instead failed${at}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      hint: full
        ? 'the copy lives on the root tmpfs: raise rootSize, or point the fixture at a smaller tree'
        : `run the tests as the owner of ${op.source}, so that it can be an overlay, or point the fixture at a copy of the files the tests need`,
    });
  }
  try {
    sys.mount(staging, dest, null, MS_BIND | MS_REC);
    sys.mount(null, dest, null, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV);
  } catch (error) {
    throw new SandboxError('setup', `${describeOp(op)}${op.origin ? ` (${op.origin})` : ''}: cannot bind the copy over the destination: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (report.skipped.length === 0) return;
  const why = refusal instanceof Error ? refusal.message : 'overlayfs was refused';
  // Each with its reason: EACCES for what the caller cannot read, another kind for FIFOs and sockets, which a copy cannot carry.
  const names = report.skipped.map((entry) => `${JSON.stringify(path.join(op.source, entry.path))} (${entry.reason})`);
  const shown = names.length > 20 ? [...names.slice(0, 20), `and ${names.length - 20} more`] : names;
  // Printed before the command runs; under Jest the runner passes it on with the file's output.
  fs.writeSync(2, `mount-sandbox: ${op.origin ?? describeOp(op)}: ${why}, so ${op.dest} is a copy, without ${names.length} ${names.length === 1 ? 'entry' : 'entries'} it could not copy: ${shown.join(', ')}. `
    + `They do not exist inside. If a test needs them, run it as the owner of what it cannot read, or point the fixture at a folder with readable copies of plain files.\n`);
}
