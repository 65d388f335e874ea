// The engine's check of its own input, run before anything is launched: the
// shape of every mount op and of the rest of the spec. The sandbox options
// are checked earlier, in src/options, with the same path rule
// (checkMountDest); the CLI's mount flags reach the engine directly, so this
// check is also what names a bad flag. Each error names the field (or the
// CLI option the op came from) and the offending value.
import path from 'node:path';
import { configError } from './errors';
import { isUnder } from './paths';
import { MOUNT_ROLES, type MountOp, type SandboxSpec } from './spec';

/** Trees the kernel owns: a mount there could expose or reconfigure the host. */
const KERNEL_TREES = ['/proc', '/sys', '/dev'];

function fieldOf(op: MountOp, index: number, key: string): string {
  return op.origin ?? `mounts[${index}].${key}`;
}

export function checkAbsolutePath(value: unknown, field: string, what = 'path'): string {
  if (typeof value !== 'string' || value === '') throw configError(field, `expected an absolute ${what}, got ${JSON.stringify(value)}`);
  if (!path.isAbsolute(value)) throw configError(field, `expected an absolute ${what}, got relative ${JSON.stringify(value)}`);
  if (value.split('/').includes('..')) throw configError(field, `${JSON.stringify(value)} contains "..": give the path without it`);
  return path.normalize(value).replace(/(.)\/$/, '$1');
}

/**
 * The one rule for where something may be mounted inside, for the engine's
 * own ops and for every user option alike (src/options uses it too): never
 * `/`, and never under /proc, /sys or /dev, which the sandbox builds itself.
 * The exceptions are the sandbox's own proc, dev and mqueue, and a tmpfs
 * exactly at /dev/shm, which sizes shared memory (browsers need more than the default).
 */
export function checkMountDest(value: unknown, field: string, type: MountOp['type'], what = 'destination'): string {
  const dest = checkAbsolutePath(value, field, what);
  if (dest === '/') throw configError(field, 'cannot be / (the root is always a fresh tmpfs; use rootSize to size it)');
  const ownTree = type === 'proc' ? '/proc' : type === 'dev' ? '/dev' : undefined;
  const devMount = (type === 'tmpfs' && dest === '/dev/shm') || (type === 'mqueue' && dest === '/dev/mqueue');
  for (const tree of KERNEL_TREES) {
    if (isUnder(dest, tree) && !(ownTree === tree && dest === tree) && !(tree === '/dev' && devMount)) {
      throw configError(field, `destination ${dest} is under ${tree}, which the sandbox builds itself`, `pick a path outside ${KERNEL_TREES.join(', ')} (a tmpfs at /dev/shm is the one exception)`);
    }
  }
  return dest;
}

function checkDest(op: MountOp, index: number): void {
  checkMountDest(op.dest, fieldOf(op, index, 'dest'), op.type);
}

function checkOp(op: MountOp, index: number): void {
  checkDest(op, index);
  // Decisions about a mount go by its role: one without a known role is a planner's bug, caught before launch.
  if (!MOUNT_ROLES.includes(op.role)) throw configError(fieldOf(op, index, 'role'), `unknown mount role ${JSON.stringify(op.role)}; expected one of ${MOUNT_ROLES.join(', ')}`);
  switch (op.type) {
    case 'bind':
    case 'ro-bind':
    case 'overlay':
      checkAbsolutePath(op.source, fieldOf(op, index, 'source'), 'source');
      return;
    case 'tmpfs':
      if (op.size !== undefined && !(Number.isSafeInteger(op.size) && op.size > 0)) {
        throw configError(fieldOf(op, index, 'size'), `expected a positive size in bytes, got ${JSON.stringify(op.size)}`);
      }
      checkMode(op.mode, fieldOf(op, index, 'mode'));
      return;
    case 'dir':
      checkMode(op.mode, fieldOf(op, index, 'mode'));
      return;
    case 'symlink':
      if (typeof op.target !== 'string' || op.target === '') throw configError(fieldOf(op, index, 'target'), 'expected a non-empty symlink target');
      return;
    case 'mqueue':
      // Only where tools look for it: anywhere else it is one more writable tree of no use.
      if (checkAbsolutePath(op.dest, fieldOf(op, index, 'dest')) !== '/dev/mqueue') {
        throw configError(fieldOf(op, index, 'dest'), `an mqueue mount belongs at /dev/mqueue, not ${op.dest}`);
      }
      return;
    case 'dev':
    case 'proc':
    case 'hide':
      return;
    default: {
      const unknown: { type?: unknown } = op;
      throw configError(`mounts[${index}].type`, `unknown mount type ${JSON.stringify(unknown.type)}; expected one of bind, ro-bind, overlay, tmpfs, dev, proc, mqueue, dir, symlink, hide`);
    }
  }
}

function checkMode(mode: number | undefined, field: string): void {
  if (mode !== undefined && !(Number.isInteger(mode) && mode >= 0 && mode <= 0o7777)) {
    throw configError(field, `expected a file mode between 0 and 07777, got ${JSON.stringify(mode)}`);
  }
}

export function validateSpec(spec: SandboxSpec): void {
  if (!(Number.isSafeInteger(spec.rootSize) && spec.rootSize > 0)) throw configError('rootSize', `expected a positive size in bytes, got ${JSON.stringify(spec.rootSize)}`);
  if (!(Number.isSafeInteger(spec.processLimit) && spec.processLimit >= 16)) throw configError('processLimit', `expected a whole number of at least 16, got ${JSON.stringify(spec.processLimit)}`);
  if (spec.uid !== 'same' && spec.uid !== 'root') throw configError('uid', `expected "same" or "root", got ${JSON.stringify(spec.uid)}`);
  if (spec.network !== 'host' && spec.network !== 'none') throw configError('network', `expected "host" or "none", got ${JSON.stringify(spec.network)}`);
  if (spec.hostname !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(spec.hostname)) {
    throw configError('hostname', `expected a hostname of letters, digits, dots and dashes (at most 63), got ${JSON.stringify(spec.hostname)}`);
  }
  spec.mounts.forEach(checkOp);
  checkAbsolutePath(spec.cwd, 'cwd', 'directory');
  for (const [key, value] of Object.entries(spec.env)) {
    if (key === '' || key.includes('=') || key.includes('\0')) throw configError('env', `invalid variable name ${JSON.stringify(key)}`);
    if (typeof value !== 'string' || value.includes('\0')) throw configError(`env.${key}`, 'expected a string without NUL bytes');
  }
}
