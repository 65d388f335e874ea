// From what a user asked for to a resolved spec: host defaults first, then
// the sandbox options (config, docblock or --config), then mounts the caller
// needs on top (CLI flags, Jest's cache and snapshot folders), then
// validation and symlink resolution. Everything that can be wrong is
// reported here, before launch.
import fs from 'node:fs';
import os from 'node:os';
import { configError } from '../shared/errors';
import { checkMountDest } from '../shared/validate';
import path from 'node:path';
import { keptByCleanEnv } from '../options/defaults';
import type { CheckedOptions, OptionOrigins } from '../options/types';
import { defaultSpec, READONLY_PROJECT, visibilityMounts, type HostFacts, type HostView, type ProjectChoice } from './defaults';
import { realHost } from './host-view';
import { resolveSpec } from './resolve';
import type { MountOp, SandboxSpec, UidMode } from '../shared/spec';
import type { Tools } from '../shared/sandbox-protocol';

export interface SandboxRequest {
  projectDir: string;
  /** The user's sandbox options, already checked. */
  options?: CheckedOptions;
  /** The project mode when the options do not choose one. */
  defaultProject?: ProjectChoice;
  /** Applied after the options: CLI flags, Jest's writable folders. */
  mounts?: MountOp[];
  setenv?: Record<string, string>;
  unsetenv?: string[];
  network?: SandboxSpec['network'];
  uid?: UidMode;
  cwd?: string;
  rootSize?: number;
  hostname?: string;
  /** Host paths the command needs to find at the same path (our package, Jest). */
  mustSee?: string[];
  /** Where the options came from, for messages, e.g. `testEnvironmentOptions.sandbox`. */
  optionsOrigin?: string;
  /** Where each option entry came from, when the options were merged from several sources (a docblock over a config). */
  optionOrigins?: OptionOrigins;
}

export function hostFacts(projectDir: string, home = os.homedir()): HostFacts {
  return { execPath: process.execPath, home, projectDir: path.resolve(projectDir), env: process.env };
}

function optionMounts(options: CheckedOptions, origins: OptionOrigins, at: string): MountOp[] {
  const mounts: MountOp[] = [];
  options.tmpfs?.forEach((entry, i) => {
    mounts.push({ type: 'tmpfs', dest: entry.target, ...(typeof entry.size === 'number' ? { size: entry.size } : {}), role: 'user', origin: origins.tmpfs[i] ?? `${at}.tmpfs[${i}]` });
  });
  for (const [target, source] of Object.entries(options.fixtures ?? {})) {
    mounts.push({ type: 'overlay', source, dest: target, fallback: 'copy', role: 'user', origin: origins.fixtures[target] ?? `${at}.fixtures[${JSON.stringify(target)}]` });
  }
  options.binds?.forEach((bind, i) => {
    mounts.push({
      type: bind.writable ? 'bind' : 'ro-bind',
      source: bind.source,
      dest: bind.target,
      role: 'user',
      origin: origins.binds[i] ?? `${at}.binds[${i}]`,
      ...(bind.optional ? { optional: true } : {}),
      ...(bind.propagation ? { propagation: bind.propagation } : {}),
    });
  });
  // The options are lists, not an order: a mount whose destination lies under
  // another's must come after it, or the outer one would cover it unseen (a
  // tmpfs under a bind's target, say). Sort is stable, so siblings keep their order.
  const depth = (op: MountOp): number => op.dest.split('/').filter(Boolean).length;
  return mounts.sort((a, b) => depth(a) - depth(b));
}

/**
 * A hidden path as written, and its real path: the sandbox shows a tree at
 * its real path (Jest's rootDir is one), so a hide written through a
 * symlink (`/work/link/.env` with the project at `/work/real`) must hide
 * both. A real path the sandbox builds itself (under /proc, say) cannot be
 * shown from the host at all.
 */
function hiddenPaths(p: string, host: HostView): string[] {
  let real: string;
  try {
    real = host.realpath(p);
  } catch {
    return [p];
  }
  if (real === p) return [p];
  try {
    checkMountDest(real, 'hide', 'hide');
  } catch {
    return [p];
  }
  return [p, real];
}

function projectChoice(options: CheckedOptions, fallback: ProjectChoice, origin: string): ProjectChoice {
  if (options.project === undefined) return fallback;
  return { mode: options.project, fallback: 'fail', origin };
}

const NO_ORIGINS: OptionOrigins = { binds: [], tmpfs: [], hide: [], fixtures: {}, scalars: {} };

export function planSandbox(request: SandboxRequest, tools: Tools, host: HostView = realHost, facts?: HostFacts): SandboxSpec {
  const options = request.options ?? {};
  const at = request.optionsOrigin ?? 'sandbox';
  const origins = request.optionOrigins ?? NO_ORIGINS;
  const given = facts ?? hostFacts(request.projectDir, options.home ?? os.homedir());
  // envMode 'clean': the sandbox's environment is derived from the allowlisted part of Jest's only.
  const hostView = options.envMode === 'clean' ? { ...given, env: Object.fromEntries(Object.entries(given.env).filter(([name]) => keptByCleanEnv(name))) } : given;
  const spec = defaultSpec(host, hostView, projectChoice(options, request.defaultProject ?? READONLY_PROJECT, origins.scalars.project ?? `${at}.project`));
  const needed = [...Object.values(tools), path.dirname(path.dirname(__dirname)), ...(request.mustSee ?? [])];
  // Before the project, not after: a needed tree that contains the project (a
  // package checked out around its own fixtures) must not hide the project's mount.
  const projectAt = spec.mounts.findIndex((op) => op.role === 'project');
  spec.mounts.splice(projectAt < 0 ? spec.mounts.length : projectAt, 0, ...visibilityMounts(host, spec.mounts, needed, 'needed by the sandbox'));
  spec.mounts.push(...optionMounts(options, origins, at));
  spec.mounts.push(...(request.mounts ?? []));
  // Hidden paths go last, so that nothing mounted later uncovers them.
  options.hide?.forEach((p, i) => {
    for (const dest of hiddenPaths(p, host)) spec.mounts.push({ type: 'hide', dest, role: 'user', origin: origins.hide[i] ?? `${at}.hide[${i}]` });
  });

  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === null) delete spec.env[key];
    else spec.env[key] = value;
  }
  for (const [key, value] of Object.entries(request.setenv ?? {})) spec.env[key] = value;
  for (const key of request.unsetenv ?? []) delete spec.env[key];
  const network = request.network ?? options.network;
  if (network !== undefined) spec.network = network;
  const uid = request.uid ?? options.uid;
  if (uid !== undefined) spec.uid = uid;
  const rootSize = request.rootSize ?? options.rootSize;
  if (rootSize !== undefined) spec.rootSize = rootSize;
  // An unsized tmpfs would get the kernel's default, half the host's memory:
  // give it the root's size, the one size the user chose for a sandbox's disk.
  spec.mounts = spec.mounts.map((op) => (op.type === 'tmpfs' && op.role === 'user' && op.size === undefined ? { ...op, size: spec.rootSize } : op));
  if (options.processLimit !== undefined) spec.processLimit = options.processLimit;
  const hostname = request.hostname ?? options.hostname;
  if (hostname !== undefined) spec.hostname = hostname;
  if (request.cwd !== undefined) spec.cwd = request.cwd;
  return resolveSpec(markUnusableOverlays(spec), host);
}

/**
 * Only the caller's own uid is mapped into the sandbox, and overlayfs cannot
 * copy up a file whose owner is not mapped (EOVERFLOW on the first write). A
 * tree that is not the caller's therefore gets its fallback straight away,
 * and an explicit overlay fails here, before launch.
 */
function markUnusableOverlays(spec: SandboxSpec): SandboxSpec {
  const uid = process.getuid?.() ?? 0;
  const mounts = spec.mounts.map((op) => {
    if (op.type !== 'overlay') return op;
    let owner: number;
    try {
      owner = fs.statSync(op.source).uid;
    } catch {
      return op; // resolveSpec reports a missing source
    }
    if (owner === uid) return op;
    const why = `${op.source} belongs to uid ${owner}, not to you (uid ${uid}); overlayfs in a user namespace cannot copy up files of other users`;
    if (op.fallback === 'fail') throw configError(op.origin ?? 'project', why, 'run the tests as the owner of the tree, or use project: "readonly"');
    return { ...op, skipOverlay: why };
  });
  return { ...spec, mounts };
}
