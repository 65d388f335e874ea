// One small check per option, in a table: each takes the raw value and the
// option's path (for messages) and returns the normalized value, or throws a
// config error naming the path, the value and what was expected. List
// entries are checked one by one, so that every bad entry is reported.
import fs from 'node:fs';
import path from 'node:path';
import { configError, isSandboxError } from '../shared/errors';
import { isUnder, realpathOrUndefined } from '../shared/paths';
import { parseSize } from '../shared/size';
import { checkMountDest } from '../shared/validate';
import type { MountOp } from '../shared/spec';
import { AlreadyReported, nearest, show, type Issues } from './issues';
import { DOCBLOCK_ALLOWABLE, type CheckedBind, type CheckedOptions, type CheckedTmpfs, type DocblockAllowable } from './types';

export interface RuleContext {
  /** Relative host paths and `<rootDir>` resolve against it. */
  rootDir: string;
  issues: Issues;
}

type Rule<K extends keyof CheckedOptions> = (raw: unknown, field: string, ctx: RuleContext) => CheckedOptions[K];

const BIND_KEYS = ['source', 'target', 'writable', 'propagation', 'optional', 'allowPrivileged'] as const;
const TMPFS_KEYS = ['target', 'size'] as const;
const DOCBLOCK_KEYS = ['allow'] as const;

/** Trees a bind may only touch with allowPrivileged: they expose or reconfigure the host. */
export const PRIVILEGED_TREES = ['/proc', '/sys', '/dev', '/boot', '/root', '/run'];
export const RUNTIME_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock', '/run/podman/podman.sock', '/var/run/crio/crio.sock'];

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Unknown keys are errors (a typo must not be silently ignored), with the nearest known name. */
export function checkKeys(value: Record<string, unknown>, known: readonly string[], at: string, issues: Issues): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const best = nearest(key, known);
    issues.add(`${at}.${key}`, `unknown option${best ? `; did you mean "${best}"?` : ''} Known options: ${known.join(', ')}`);
  }
}

function expectString(value: unknown, at: string, what = 'a non-empty string'): string {
  if (typeof value !== 'string' || value === '') throw configError(at, `expected ${what}, got ${show(value)}`);
  return value;
}

function expectBoolean(value: unknown, at: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw configError(at, `expected true or false, got ${show(value)}`);
  return value;
}

function oneOf<T extends string>(allowed: readonly T[]): (value: unknown, at: string) => T {
  return (value, at) => {
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      throw configError(at, `expected one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${show(value)}`);
    }
    return value as T;
  };
}

export function expectSize(value: unknown, at: string): number {
  const bytes = typeof value === 'number' ? (Number.isSafeInteger(value) && value > 0 ? value : undefined) : typeof value === 'string' ? parseSize(value) : undefined;
  if (bytes === undefined) throw configError(at, `expected a positive size like "64m", "1g", "512k" or a number of bytes, got ${show(value)}`);
  return bytes;
}

function wholeNumber(min: number, what: string): (value: unknown, at: string) => number {
  return (value, at) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw configError(at, `expected ${what}, got ${show(value)}`);
    return value;
  };
}

/** A sandbox path, by the engine's own rule (src/shared/validate.ts), in the options' words. */
export function expectTarget(value: unknown, at: string, type: MountOp['type'] = 'bind'): string {
  if (typeof value !== 'string' || value === '') throw configError(at, `expected an absolute path inside the sandbox, got ${show(value)}`);
  return checkMountDest(value, at, type, 'path inside the sandbox');
}

/** A bind without a target shows its source at the same path: say so when that path cannot be a destination. */
function sourceAsTarget(source: string, at: string): string {
  try {
    return expectTarget(source, at);
  } catch (error) {
    if (!isSandboxError(error) || error.field !== at) throw error;
    const reason = error.message.slice(`${at}: `.length);
    throw configError(at, `with no target, the source is also the destination, and ${reason}`, `give a target, e.g. "${source}:${path.posix.join('/mnt', path.basename(source) || 'host')}"`);
  }
}

/** A host path: `<rootDir>` and relative paths resolve against the project. */
function expectHostPath(value: unknown, at: string, rootDir: string): string {
  const raw = expectString(value, at, 'a host path');
  const replaced = raw.replace(/^<rootDir>(?=\/|$)/, rootDir);
  if (replaced.includes('<rootDir>')) throw configError(at, `<rootDir> may only start the path, got ${JSON.stringify(raw)}`);
  return path.resolve(rootDir, replaced);
}

/** `shown` is the path as the user wrote it, when `source` is its realpath. */
function checkPrivileged(source: string, target: string, at: string, shown = source): void {
  for (const [what, p] of [['source', source], ['target', target]] as const) {
    const tree = PRIVILEGED_TREES.find((t) => isUnder(p, t));
    const socket = RUNTIME_SOCKETS.find((s) => p === s);
    if (tree || socket) {
      const named = what === 'source' && shown !== p ? `${shown} (really ${p})` : p;
      throw configError(`${at}.${what}`, `the ${what} ${named} is ${socket ? 'a container runtime socket, which is root on the host' : `under ${tree}, which can expose or reconfigure the host`}`,
        'set allowPrivileged: true on this bind if you really mean it');
    }
  }
}

function splitPair(value: string): [string, string | undefined] {
  const colon = value.indexOf(':');
  return colon < 0 ? [value, undefined] : [value.slice(0, colon), value.slice(colon + 1)];
}

export function checkBind(raw: unknown, at: string, ctx: RuleContext): CheckedBind {
  if (typeof raw === 'string') {
    const [source, target] = splitPair(raw);
    if (target !== undefined && !path.isAbsolute(target)) {
      throw configError(`${at}.target`, `expected an absolute path inside the sandbox after the first ":", got ${JSON.stringify(target)}`, 'a path with ":" in it cannot be written as "SRC:DST"; use the object form {source, target}');
    }
    return checkBind({ source, ...(target !== undefined ? { target } : {}) }, at, ctx);
  }
  if (!isPlainObject(raw)) throw configError(at, `expected "SRC[:DST]" or {source, target?, writable?}, got ${show(raw)}`);
  const keys = ctx.issues.list.length;
  checkKeys(raw, BIND_KEYS, at, ctx.issues);
  if (ctx.issues.list.length > keys) throw new AlreadyReported();
  const source = expectHostPath(raw.source, `${at}.source`, ctx.rootDir);
  const target = raw.target === undefined ? sourceAsTarget(source, `${at}.source`) : expectTarget(raw.target, `${at}.target`);
  const writable = expectBoolean(raw.writable, `${at}.writable`);
  const optional = expectBoolean(raw.optional, `${at}.optional`);
  const allowPrivileged = expectBoolean(raw.allowPrivileged, `${at}.allowPrivileged`) ?? false;
  const propagation = raw.propagation === undefined ? undefined : oneOf(['private', 'slave'] as const)(raw.propagation, `${at}.propagation`);
  if (propagation === 'slave' && writable !== true) {
    throw configError(`${at}.propagation`, 'a "slave" bind receives mounts the host makes later, with the host\'s flags: they cannot be kept read-only',
      'set writable: true on this bind to accept that, or drop propagation');
  }
  if (!allowPrivileged) checkPrivileged(source, target, at);
  // The real path too: /var/run is /run, and a symlink in the project may point anywhere.
  const real = realpathOrUndefined(fs.realpathSync, source);
  if (real === undefined && optional !== true) {
    throw configError(`${at}.source`, `bind source ${source} does not exist`, 'create it, fix the path, or set optional: true');
  }
  if (real !== undefined && real !== source && !allowPrivileged) checkPrivileged(real, target, at, source);
  return {
    source, target,
    ...(writable !== undefined ? { writable } : {}),
    ...(optional !== undefined ? { optional } : {}),
    ...(propagation !== undefined ? { propagation } : {}),
    ...(allowPrivileged ? { allowPrivileged } : {}),
  };
}

export function checkTmpfs(raw: unknown, at: string, ctx: RuleContext): CheckedTmpfs {
  if (typeof raw === 'string') {
    const [target, size] = splitPair(raw);
    return checkTmpfs({ target, ...(size !== undefined ? { size } : {}) }, at, ctx);
  }
  if (!isPlainObject(raw)) throw configError(at, `expected "DST[:SIZE]" or {target, size?}, got ${show(raw)}`);
  const keys = ctx.issues.list.length;
  checkKeys(raw, TMPFS_KEYS, at, ctx.issues);
  if (ctx.issues.list.length > keys) throw new AlreadyReported();
  const target = expectTarget(raw.target, `${at}.target`, 'tmpfs');
  const size = raw.size === undefined ? undefined : expectSize(raw.size, `${at}.size`);
  return { target, ...(size !== undefined ? { size } : {}) };
}

export function checkHide(raw: unknown, at: string, ctx: RuleContext): string {
  return expectTarget(expectHostPath(raw, at, ctx.rootDir), at, 'hide');
}

/** Each entry on its own: one bad entry is reported, the good ones are kept for the later checks. */
function list<T>(check: (raw: unknown, at: string, ctx: RuleContext) => T, what = 'an array'): (raw: unknown, at: string, ctx: RuleContext) => T[] {
  return (raw, at, ctx) => {
    if (!Array.isArray(raw)) throw configError(at, `expected ${what}, got ${show(raw)}`);
    return raw.flatMap((entry, i) => {
      const checked = ctx.issues.attempt(() => check(entry, `${at}[${i}]`, ctx));
      return checked === undefined ? [] : [checked];
    });
  };
}

function checkFixtures(raw: unknown, at: string, ctx: RuleContext): Record<string, string> {
  if (!isPlainObject(raw)) throw configError(at, `expected an object mapping sandbox paths to host directories, got ${show(raw)}`);
  const out: Record<string, string> = {};
  for (const [target, source] of Object.entries(raw)) {
    const field = `${at}[${JSON.stringify(target)}]`;
    ctx.issues.attempt(() => {
      const hostPath = expectHostPath(source, field, ctx.rootDir);
      const real = realpathOrUndefined(fs.realpathSync, hostPath);
      if (real === undefined) throw configError(field, `fixture source ${hostPath} does not exist`, 'point it at an existing directory');
      if (!fs.statSync(real).isDirectory()) throw configError(field, `${hostPath} is not a directory`);
      out[expectTarget(target, field, 'overlay')] = hostPath;
    });
  }
  return out;
}

/**
 * A variable name sh can carry: the init chain runs every command through
 * sh, which drops any other name from the environment it passes on, so such
 * a variable would reach a Node command in one chain and vanish in the other.
 * Shared with the CLI's --setenv and --unsetenv.
 */
export function checkVariableName(key: string, at: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    throw configError(at, `invalid variable name ${JSON.stringify(key)}: a name is letters, digits and underscores, not starting with a digit (sh, which starts every command in the sandbox, drops any other)`);
  }
}

function checkEnv(raw: unknown, at: string, ctx: RuleContext): Record<string, string | null> {
  if (!isPlainObject(raw)) throw configError(at, `expected an object of variables (a string to set, null to unset), got ${show(raw)}`);
  const out: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(raw)) {
    ctx.issues.attempt(() => {
      checkVariableName(key, at);
      if (value !== null && (typeof value !== 'string' || value.includes('\0'))) throw configError(`${at}.${key}`, `expected a string, or null to unset, got ${show(value)}`);
      out[key] = value;
    });
  }
  return out;
}

/** Shared with the CLI's flags (src/cli/args.ts), so that `--uid`, `--project-mode` and `--hostname` follow the options' rules. */
export const checkUid = oneOf(['same', 'root'] as const);
export const checkProjectMode = oneOf(['overlay', 'readonly', 'writable'] as const);
export const checkNetwork = oneOf(['host', 'none'] as const);

export function checkHostname(raw: unknown, at: string): string {
  const hostname = expectString(raw, at, 'a hostname');
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(hostname)) throw configError(at, `expected letters, digits, dots and dashes (at most 63), got ${show(hostname)}`);
  return hostname;
}

function checkDocblock(raw: unknown, at: string, ctx: RuleContext): { allow: DocblockAllowable[] } {
  if (!isPlainObject(raw)) throw configError(at, `expected {allow: [option names]}, got ${show(raw)}`);
  checkKeys(raw, DOCBLOCK_KEYS, at, ctx.issues);
  if (raw.allow === undefined) return { allow: [] };
  const allow = list((name, field) => {
    if (typeof name === 'string' && (DOCBLOCK_ALLOWABLE as readonly string[]).includes(name)) return name as DocblockAllowable;
    if (typeof name === 'string' && (ALWAYS_NARROWING as readonly string[]).includes(name)) {
      throw configError(field, `"${name}" needs no allowance: a docblock may always set it, since it cannot widen the sandbox`, 'remove it from the list');
    }
    const best = typeof name === 'string' ? nearest(name, DOCBLOCK_ALLOWABLE) : undefined;
    throw configError(field, `unknown option name ${show(name)}${best ? `; did you mean "${best}"?` : ''} Options a docblock may be allowed to widen: ${DOCBLOCK_ALLOWABLE.join(', ')}`);
  }, 'an array of option names')(raw.allow, `${at}.allow`, ctx);
  return { allow };
}

/** Options a docblock may always set: they can only narrow the sandbox, or change nothing the host has. */
export const ALWAYS_NARROWING = ['tmpfs', 'hide', 'env', 'home', 'hostname'] as const;

export const RULES: { [K in keyof CheckedOptions]-?: Rule<K> } = {
  binds: list(checkBind),
  tmpfs: list(checkTmpfs),
  rootSize: expectSize,
  fixtures: checkFixtures,
  project: checkProjectMode,
  env: checkEnv,
  envMode: oneOf(['inherit', 'clean'] as const),
  home: (raw, at) => expectTarget(raw, at, 'dir'),
  network: checkNetwork,
  uid: checkUid,
  hostname: checkHostname,
  hide: list(checkHide, 'an array of paths'),
  processLimit: wholeNumber(16, 'a whole number of at least 16'),
  fileTimeout: wholeNumber(0, 'a whole number of milliseconds (0 for none)'),
  docblock: checkDocblock,
};

export const OPTION_NAMES = Object.keys(RULES) as Array<keyof CheckedOptions>;
