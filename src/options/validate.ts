// Turns raw options (from a Jest config, a docblock or a JSON file) into
// checked SandboxOptions. One small check per option; every error names the
// option path, the value and what was expected, and no launch happens.
import fs from 'node:fs';
import path from 'node:path';
import { configError } from '../errors';
import { isUnder, realpathOrUndefined } from '../sandbox/paths';
import { parseSize } from '../sandbox/size';
import type { BindOption, ProjectMode, SandboxOptions, TmpfsOption } from './types';

const KNOWN_KEYS = ['binds', 'tmpfs', 'rootSize', 'fixtures', 'project', 'env', 'home', 'network', 'uid', 'hostname', 'hide', 'processLimit', 'fileTimeout'] as const;
const BIND_KEYS = ['source', 'target', 'writable', 'propagation', 'optional', 'allowPrivileged'] as const;
const TMPFS_KEYS = ['target', 'size'] as const;

/** Trees a bind may only touch with allowPrivileged: they expose or reconfigure the host. */
export const PRIVILEGED_TREES = ['/proc', '/sys', '/dev', '/boot', '/root', '/run'];
export const RUNTIME_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock', '/run/podman/podman.sock', '/var/run/crio/crio.sock'];
const SANDBOX_MANAGED = ['/proc', '/sys', '/dev'];

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return `${text === undefined ? String(value) : text} (${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value})`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

function checkKeys(value: Record<string, unknown>, known: readonly string[], at: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const best = [...known].sort((x, y) => editDistance(key, x) - editDistance(key, y))[0];
    const hint = best !== undefined && editDistance(key, best) <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean "${best}"?` : '';
    throw configError(`${at}.${key}`, `unknown option${hint} Known options: ${known.join(', ')}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

function expectOneOf<T extends string>(value: unknown, allowed: readonly T[], at: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw configError(at, `expected one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${show(value)}`);
  }
  return value as T;
}

export function expectSize(value: unknown, at: string): number | undefined {
  if (value === undefined) return undefined;
  const bytes = typeof value === 'number' ? (Number.isSafeInteger(value) && value > 0 ? value : undefined) : typeof value === 'string' ? parseSize(value) : undefined;
  if (bytes === undefined) throw configError(at, `expected a positive size like "64m", "1g", "512k" or a number of bytes, got ${show(value)}`);
  return bytes;
}

/** A sandbox path: absolute, no `..`, not in a tree the sandbox manages itself. */
function expectTarget(value: unknown, at: string): string {
  const target = expectString(value, at, 'an absolute path inside the sandbox');
  if (!path.isAbsolute(target)) throw configError(at, `expected an absolute path inside the sandbox, got relative ${JSON.stringify(target)}`);
  if (target.split('/').includes('..')) throw configError(at, `${JSON.stringify(target)} contains "..": give the path without it`);
  const clean = path.normalize(target).replace(/(.)\/$/, '$1');
  if (clean === '/') throw configError(at, 'cannot be / (the root is always a fresh tmpfs; use rootSize to size it)');
  const managed = SANDBOX_MANAGED.find((tree) => isUnder(clean, tree));
  if (managed) throw configError(at, `${clean} is under ${managed}, which the sandbox builds itself; pick another path`);
  return clean;
}

/** A host path: `<rootDir>` and relative paths resolve against the project. */
function expectHostPath(value: unknown, at: string, rootDir: string): string {
  const raw = expectString(value, at, 'a host path');
  const replaced = raw.replace(/^<rootDir>(?=\/|$)/, rootDir);
  if (replaced.includes('<rootDir>')) throw configError(at, `<rootDir> may only start the path, got ${JSON.stringify(raw)}`);
  return path.resolve(rootDir, replaced);
}

/** `shown` is the path as the user wrote it, when `source` is its realpath. */
function checkPrivileged(source: string, target: string, allowed: boolean, at: string, shown = source): void {
  if (allowed) return;
  for (const [what, p, field] of [['source', source, 'source'], ['target', target, 'target']] as const) {
    const tree = PRIVILEGED_TREES.find((t) => isUnder(p, t));
    const socket = RUNTIME_SOCKETS.find((s) => p === s);
    if (tree || socket) {
      const named = field === 'source' && shown !== p ? `${shown} (really ${p})` : p;
      throw configError(`${at}.${field}`, `the ${what} ${named} is ${socket ? 'a container runtime socket, which is root on the host' : `under ${tree}, which can expose or reconfigure the host`}`,
        'set allowPrivileged: true on this bind if you really mean it');
    }
  }
}

function splitPair(value: string): [string, string | undefined] {
  const colon = value.indexOf(':');
  return colon < 0 ? [value, undefined] : [value.slice(0, colon), value.slice(colon + 1)];
}

function normalizeBind(raw: unknown, at: string, rootDir: string): Required<Pick<BindOption, 'source' | 'target'>> & BindOption {
  if (typeof raw === 'string') {
    const [source, target] = splitPair(raw);
    return normalizeBind({ source, ...(target !== undefined ? { target } : {}) }, at, rootDir);
  }
  if (!isPlainObject(raw)) throw configError(at, `expected "SRC[:DST]" or {source, target?, writable?}, got ${show(raw)}`);
  checkKeys(raw, BIND_KEYS, at);
  const source = expectHostPath(raw.source, `${at}.source`, rootDir);
  const target = raw.target === undefined ? source : expectTarget(raw.target, `${at}.target`);
  const writable = expectBoolean(raw.writable, `${at}.writable`);
  const optional = expectBoolean(raw.optional, `${at}.optional`);
  const allowPrivileged = expectBoolean(raw.allowPrivileged, `${at}.allowPrivileged`) ?? false;
  const propagation = expectOneOf(raw.propagation, ['private', 'slave'] as const, `${at}.propagation`);
  if (raw.target === undefined) expectTarget(source, `${at}.source`);
  if (propagation === 'slave' && writable !== true) {
    throw configError(`${at}.propagation`, 'a "slave" bind receives mounts the host makes later, with the host\'s flags: they cannot be kept read-only',
      'set writable: true on this bind to accept that, or drop propagation');
  }
  checkPrivileged(source, target, allowPrivileged, at);
  // The real path too: /var/run is /run, and a symlink in the project may point anywhere.
  const real = realpathOrUndefined(fs.realpathSync, source);
  if (real === undefined && optional !== true) {
    throw configError(`${at}.source`, `bind source ${source} does not exist`, 'create it, fix the path, or set optional: true');
  }
  if (real !== undefined && real !== source) checkPrivileged(real, target, allowPrivileged, at, source);
  return {
    source, target,
    ...(writable !== undefined ? { writable } : {}),
    ...(optional !== undefined ? { optional } : {}),
    ...(propagation !== undefined ? { propagation } : {}),
    ...(allowPrivileged ? { allowPrivileged } : {}),
  };
}

function normalizeTmpfs(raw: unknown, at: string): TmpfsOption {
  if (typeof raw === 'string') {
    const [target, size] = splitPair(raw);
    return normalizeTmpfs({ target, ...(size !== undefined ? { size } : {}) }, at);
  }
  if (!isPlainObject(raw)) throw configError(at, `expected "DST[:SIZE]" or {target, size?}, got ${show(raw)}`);
  checkKeys(raw, TMPFS_KEYS, at);
  const target = expectTarget(raw.target, `${at}.target`);
  const size = expectSize(raw.size, `${at}.size`);
  return { target, ...(size !== undefined ? { size } : {}) };
}

export interface CheckedOptions extends SandboxOptions {
  binds?: Array<BindOption & { target: string }>;
  tmpfs?: TmpfsOption[];
  rootSize?: number;
}

/**
 * Checks `raw` against the option schema. `at` is the path used in messages
 * (e.g. `testEnvironmentOptions.sandbox`); relative host paths resolve against `rootDir`.
 */
export function checkOptions(raw: unknown, at: string, rootDir: string): CheckedOptions {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) throw configError(at, `expected an object of sandbox options, got ${show(raw)}`);
  checkKeys(raw, KNOWN_KEYS, at);
  const out: CheckedOptions = {};
  if (raw.binds !== undefined) {
    if (!Array.isArray(raw.binds)) throw configError(`${at}.binds`, `expected an array, got ${show(raw.binds)}`);
    out.binds = raw.binds.map((bind, i) => normalizeBind(bind, `${at}.binds[${i}]`, rootDir));
  }
  if (raw.tmpfs !== undefined) {
    if (!Array.isArray(raw.tmpfs)) throw configError(`${at}.tmpfs`, `expected an array, got ${show(raw.tmpfs)}`);
    out.tmpfs = raw.tmpfs.map((entry, i) => normalizeTmpfs(entry, `${at}.tmpfs[${i}]`));
  }
  const rootSize = expectSize(raw.rootSize, `${at}.rootSize`);
  if (rootSize !== undefined) out.rootSize = rootSize;
  if (raw.fixtures !== undefined) {
    if (!isPlainObject(raw.fixtures)) throw configError(`${at}.fixtures`, `expected an object mapping sandbox paths to host directories, got ${show(raw.fixtures)}`);
    out.fixtures = {};
    for (const [target, source] of Object.entries(raw.fixtures)) {
      const field = `${at}.fixtures[${JSON.stringify(target)}]`;
      const hostPath = expectHostPath(source, field, rootDir);
      const real = realpathOrUndefined(fs.realpathSync, hostPath);
      if (real === undefined) throw configError(field, `fixture source ${hostPath} does not exist`, 'point it at an existing directory');
      if (!fs.statSync(real).isDirectory()) throw configError(field, `${hostPath} is not a directory`);
      out.fixtures[expectTarget(target, field)] = hostPath;
    }
  }
  const project = expectOneOf<ProjectMode>(raw.project, ['overlay', 'readonly', 'writable'], `${at}.project`);
  if (project !== undefined) out.project = project;
  if (raw.env !== undefined) {
    if (!isPlainObject(raw.env)) throw configError(`${at}.env`, `expected an object of variables (a string to set, null to unset), got ${show(raw.env)}`);
    out.env = {};
    for (const [key, value] of Object.entries(raw.env)) {
      if (key === '' || key.includes('=')) throw configError(`${at}.env`, `invalid variable name ${JSON.stringify(key)}`);
      if (value !== null && typeof value !== 'string') throw configError(`${at}.env.${key}`, `expected a string, or null to unset, got ${show(value)}`);
      out.env[key] = value;
    }
  }
  if (raw.home !== undefined) out.home = expectTarget(raw.home, `${at}.home`);
  const network = expectOneOf(raw.network, ['host', 'none'] as const, `${at}.network`);
  if (network !== undefined) out.network = network;
  const uid = expectOneOf(raw.uid, ['same', 'root'] as const, `${at}.uid`);
  if (uid !== undefined) out.uid = uid;
  if (raw.hostname !== undefined) {
    const hostname = expectString(raw.hostname, `${at}.hostname`, 'a hostname');
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(hostname)) throw configError(`${at}.hostname`, `expected letters, digits, dots and dashes (at most 63), got ${show(hostname)}`);
    out.hostname = hostname;
  }
  if (raw.hide !== undefined) {
    if (!Array.isArray(raw.hide)) throw configError(`${at}.hide`, `expected an array of paths, got ${show(raw.hide)}`);
    out.hide = raw.hide.map((p, i) => expectTarget(expectHostPath(p, `${at}.hide[${i}]`, rootDir), `${at}.hide[${i}]`));
  }
  if (raw.processLimit !== undefined) {
    if (typeof raw.processLimit !== 'number' || !Number.isSafeInteger(raw.processLimit) || raw.processLimit < 16) {
      throw configError(`${at}.processLimit`, `expected a whole number of at least 16, got ${show(raw.processLimit)}`);
    }
    out.processLimit = raw.processLimit;
  }
  if (raw.fileTimeout !== undefined) {
    if (typeof raw.fileTimeout !== 'number' || !Number.isSafeInteger(raw.fileTimeout) || raw.fileTimeout < 0) {
      throw configError(`${at}.fileTimeout`, `expected a whole number of milliseconds (0 for none), got ${show(raw.fileTimeout)}`);
    }
    out.fileTimeout = raw.fileTimeout;
  }
  checkOverlaps(out, at);
  return out;
}

/** Two options claiming the same sandbox path would silently hide one another. */
function checkOverlaps(options: CheckedOptions, at: string): void {
  const claimed = new Map<string, string>();
  const claim = (target: string, field: string): void => {
    const earlier = claimed.get(target);
    if (earlier !== undefined) throw configError(field, `target ${target} is already used by ${earlier}; each path can be mounted once`);
    claimed.set(target, field);
  };
  options.binds?.forEach((bind, i) => claim(bind.target, `${at}.binds[${i}].target`));
  options.tmpfs?.forEach((entry, i) => claim(entry.target, `${at}.tmpfs[${i}].target`));
  for (const target of Object.keys(options.fixtures ?? {})) claim(target, `${at}.fixtures[${JSON.stringify(target)}]`);
}

/** Docblock options override project options key by key; arrays and maps are replaced, not merged. */
export function mergeOptions(base: CheckedOptions, override: CheckedOptions): CheckedOptions {
  return { ...base, ...override };
}
