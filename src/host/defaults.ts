// The default sandbox, derived from the host: the toolchain and /etc
// read-only, fresh /tmp, $HOME, /var/tmp, /dev and /proc, and the project
// (plus every node_modules it can reach) read-only at its real path.
import path from 'node:path';
import { DEFAULT_PROCESS_LIMIT, DEFAULT_ROOT_SIZE } from '../options/defaults';
import { isUnder, realpathOrUndefined } from '../shared/paths';
import type { BindOp, MountOp, MountRole, SandboxSpec } from '../shared/spec';

export { isUnder } from '../shared/paths';

export type PathKind = 'dir' | 'file' | 'symlink' | 'other' | 'missing';

/** The few host lookups the defaults need; injectable so plans are unit-testable. */
export interface HostView {
  kind(p: string): PathKind;
  readlink(p: string): string;
  realpath(p: string): string;
  list(dir: string): string[];
}

export interface HostFacts {
  /** process.execPath of the node that will run inside. */
  execPath: string;
  home: string;
  /** The project directory (Jest's rootDir, or the CLI's cwd). */
  projectDir: string;
  /** The caller's environment; the sandbox's is derived from it. */
  env: Readonly<Record<string, string | undefined>>;
}

export { DEFAULT_PROCESS_LIMIT, DEFAULT_ROOT_SIZE } from '../options/defaults';
export const DEFAULT_TMP_SIZE = 1024 ** 3;
const SHM_SIZE = 64 * 1024 ** 2;

/** Top-level entries that merged-/usr systems make symlinks into /usr. */
const USR_ALIASES = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** True when `p` is visible inside at the same path through an identity bind. */
export function isCovered(mounts: readonly MountOp[], p: string): boolean {
  return mounts.some((op) => (op.type === 'ro-bind' || op.type === 'bind' || op.type === 'overlay') && op.source === op.dest && isUnder(p, op.dest));
}

function roBind(real: string, role: MountRole, origin: string): BindOp {
  return { type: 'ro-bind', source: real, dest: real, role, origin };
}

function systemMounts(host: HostView): MountOp[] {
  const mounts: MountOp[] = [{ type: 'ro-bind', source: '/usr', dest: '/usr', role: 'system', origin: 'default /usr' }];
  for (const name of USR_ALIASES) {
    const p = `/${name}`;
    const kind = host.kind(p);
    if (kind === 'symlink') mounts.push({ type: 'symlink', target: host.readlink(p), dest: p, role: 'system', origin: `default ${p}` });
    else if (kind === 'dir') mounts.push({ type: 'ro-bind', source: p, dest: p, role: 'system', origin: `default ${p}` });
  }
  mounts.push({ type: 'ro-bind', source: '/etc', dest: '/etc', role: 'system', origin: 'default /etc' });
  return mounts;
}

/** Directories that every sandbox has fresh and writable. */
const FRESH_DIRS = ['/', '/tmp', '/var', '/var/tmp'];

function scratchMounts(home: string): MountOp[] {
  const mounts: MountOp[] = [
    { type: 'tmpfs', dest: '/tmp', mode: 0o1777, size: DEFAULT_TMP_SIZE, role: 'tmp', origin: 'default /tmp' },
    { type: 'dir', dest: '/var', mode: 0o755, role: 'tmp', origin: 'default /var' },
    { type: 'dir', dest: '/var/tmp', mode: 0o1777, role: 'tmp', origin: 'default /var/tmp' },
    { type: 'dev', dest: '/dev', role: 'dev', origin: 'default /dev' },
    { type: 'tmpfs', dest: '/dev/shm', mode: 0o1777, size: SHM_SIZE, role: 'dev', origin: 'default /dev/shm' },
    { type: 'mqueue', dest: '/dev/mqueue', role: 'dev', origin: 'default /dev/mqueue' },
    { type: 'proc', dest: '/proc', role: 'proc', origin: 'default /proc' },
  ];
  // After /tmp, /var and /var/tmp, so that a $HOME below them (common in CI) exists; not one of them itself, which is fresh already.
  if (!FRESH_DIRS.includes(home)) mounts.splice(3, 0, { type: 'dir', dest: home, mode: 0o700, role: 'home', origin: 'default $HOME' });
  return mounts;
}

/**
 * TMPDIR names a host folder. Inside, it becomes a fresh, empty one at the
 * same path, where that is possible without hiding anything: where the
 * sandbox is fresh anyway (under /tmp, or any path no bind covers) it is
 * created; inside the project, where it must exist, an empty tmpfs covers it.
 * Anywhere else (inside /usr, /etc, node_modules or the node prefix, under
 * /proc or /dev, above another mount, or a relative path) it is unset, and
 * temporary files go to /tmp. `undefined`: unset it.
 */
function tmpdirMounts(host: HostView, mounts: readonly MountOp[], tmpdir: string | undefined): MountOp[] | undefined {
  if (tmpdir === undefined || !path.isAbsolute(tmpdir)) return undefined;
  const p = path.normalize(tmpdir).replace(/(.)\/$/, '$1');
  if (FRESH_DIRS.includes(p) || p === '/dev/shm') return [];
  if (['/proc', '/dev', '/sys'].some((tree) => isUnder(p, tree))) return undefined;
  const mountsAt = mounts.filter((op) => op.type !== 'dir');
  if (mountsAt.some((op) => op.dest !== p && isUnder(op.dest, p))) return undefined;
  // What p lies in inside: the last mount at or above it, as the ops apply in order.
  const holder = [...mountsAt].reverse().find((op) => isUnder(p, op.dest));
  const origin = 'default $TMPDIR';
  if (holder === undefined || holder.type === 'tmpfs') return [{ type: 'dir', dest: p, mode: 0o700, role: 'tmp', origin }];
  // node_modules stay read-only whatever the project's mode, and so are never covered either.
  if (holder.role === 'project' && holder.dest !== p && !p.split('/').includes('node_modules') && host.kind(p) === 'dir') {
    return [{ type: 'tmpfs', dest: p, mode: 0o700, size: DEFAULT_TMP_SIZE, role: 'tmp', origin }];
  }
  // A read-only tree, the project itself, or a path through /bin or /lib (symlinks into /usr).
  return undefined;
}

/** node_modules of the project and of every ancestor (monorepos, hoisting), plus the real homes of linked packages. */
function moduleMounts(host: HostView, projectDir: string, covered: MountOp[]): MountOp[] {
  const mounts: MountOp[] = [];
  const add = (p: string, origin: string): void => {
    const real = realpathOrUndefined((q) => host.realpath(q), p);
    if (real !== undefined && !isCovered([...covered, ...mounts], real)) mounts.push(roBind(real, 'modules', origin));
  };
  for (let dir = projectDir; ; dir = path.dirname(dir)) {
    const modules = path.join(dir, 'node_modules');
    if (host.kind(modules) === 'dir') {
      add(modules, 'default node_modules');
      for (const entry of host.list(modules)) {
        const scoped = entry.startsWith('@') ? host.list(path.join(modules, entry)).map((name) => path.join(entry, name)) : [entry];
        for (const name of scoped) {
          const p = path.join(modules, name);
          const target = host.kind(p) === 'symlink' ? realpathOrUndefined((q) => host.realpath(q), p) : undefined;
          if (target !== undefined && host.kind(target) === 'dir') add(p, `default linked package ${name}`);
        }
      }
    }
    if (dir === path.dirname(dir)) break;
  }
  return mounts;
}

/** Read-only binds that make each path visible at its own location, unless it already is. */
export function visibilityMounts(host: HostView, mounts: readonly MountOp[], paths: readonly string[], origin: string): MountOp[] {
  // Whatever asks: a path that must be found where it is on the host is the sandbox's own toolchain.
  const added: MountOp[] = [];
  for (const p of paths) {
    const real = realpathOrUndefined((q) => host.realpath(q), p);
    if (real === undefined) continue;
    if (!isCovered([...mounts, ...added], real)) {
      added.push(roBind(host.kind(real) === 'dir' ? real : path.dirname(real), 'toolchain', origin));
    }
  }
  return added;
}

function sandboxEnv(facts: HostFacts): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(facts.env)) if (value !== undefined) env[key] = value;
  env.HOME = facts.home;
  return env;
}

export type ProjectMode = 'overlay' | 'readonly' | 'writable';

export interface ProjectChoice {
  mode: ProjectMode;
  /** For `overlay`: what to do where overlayfs is refused (`ro-bind` for the default, `fail` when asked for explicitly). */
  fallback: 'ro-bind' | 'fail';
  /** Where the choice came from, for messages. */
  origin: string;
}

function projectMount(source: string, dest: string, choice: ProjectChoice): MountOp {
  const origin = choice.origin;
  switch (choice.mode) {
    case 'readonly':
      return { type: 'ro-bind', source, dest, role: 'project', origin };
    case 'writable':
      return { type: 'bind', source, dest, role: 'project', origin };
    case 'overlay':
      return { type: 'overlay', source, dest, fallback: choice.fallback, role: 'project', origin };
  }
}

export const READONLY_PROJECT: ProjectChoice = { mode: 'readonly', fallback: 'fail', origin: 'default project' };

export function defaultSpec(host: HostView, facts: HostFacts, project: ProjectChoice = READONLY_PROJECT): SandboxSpec {
  const projectReal = host.realpath(facts.projectDir);
  const mounts: MountOp[] = [...systemMounts(host), ...scratchMounts(facts.home)];
  const nodeReal = host.realpath(facts.execPath);
  mounts.push(...visibilityMounts(host, mounts, [path.dirname(path.dirname(nodeReal))], 'default node prefix'));
  mounts.push(projectMount(projectReal, projectReal, project));
  if (facts.projectDir !== projectReal) mounts.push(projectMount(projectReal, facts.projectDir, { ...project, origin: `${project.origin} (symlinked path)` }));
  // node_modules stay read-only whatever the project's mode.
  const ownModules = path.join(projectReal, 'node_modules');
  if (project.mode !== 'readonly' && host.kind(ownModules) === 'dir') {
    mounts.push({ type: 'ro-bind', source: ownModules, dest: ownModules, role: 'modules', origin: 'default node_modules' });
  }
  mounts.push(...moduleMounts(host, projectReal, mounts));
  const env = sandboxEnv(facts);
  const tmpdir = tmpdirMounts(host, mounts, env.TMPDIR);
  if (tmpdir === undefined) delete env.TMPDIR;
  else mounts.push(...tmpdir);
  return {
    rootSize: DEFAULT_ROOT_SIZE,
    processLimit: DEFAULT_PROCESS_LIMIT,
    uid: 'same',
    network: 'host',
    mounts,
    cwd: facts.projectDir,
    env,
  };
}
