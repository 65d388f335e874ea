// The writable binds Jest's process adds to a test file's sandbox for Jest
// itself, and the questions it asks of a planned spec, answered by each
// mount's role (src/shared/spec.ts) and never by the wording of its origin,
// which is free to change for a better message.
import type { BindOp, MountOp, MountRole, SandboxSpec } from '../shared/spec';

export interface JestWritable {
  /** The sandboxes' cache (transform cache, code caches), shared by the project's sandboxed files. */
  cacheDirectory: string;
  /** The scratch folder on the host, and the real snapshot folder it is bound at. */
  snapshots?: { dir: string; realDir: string };
  /** The test file's realpath, when it takes inline snapshots. */
  inlineSnapshots?: string;
}

export function jestMounts(writable: JestWritable): BindOp[] {
  const { cacheDirectory, snapshots, inlineSnapshots } = writable;
  const mounts: BindOp[] = [{ type: 'bind', source: cacheDirectory, dest: cacheDirectory, role: 'cache', origin: 'the sandboxes\' cache, in Jest\'s cacheDirectory' }];
  if (snapshots) mounts.push({ type: 'bind', source: snapshots.dir, dest: snapshots.realDir, role: 'snapshots', origin: 'snapshots of this test file' });
  // Inline snapshots are written into the test file itself: it is writable, and writes to it reach the host.
  if (snapshots && inlineSnapshots !== undefined) mounts.push({ type: 'bind', source: inlineSnapshots, dest: inlineSnapshots, role: 'inline-snapshots', origin: 'inline snapshots of this test file' });
  return mounts;
}

/** The binds the runner makes writable for Jest itself, whose writes it expects and contains. */
const JESTS_OWN: ReadonlySet<MountRole> = new Set(['cache', 'snapshots', 'inline-snapshots']);

/** The project's mount at its real path (the first of the project's mounts). */
export function projectMount(spec: SandboxSpec): MountOp | undefined {
  return spec.mounts.find((op) => op.role === 'project');
}

/** Writable binds that `mount-sandbox run` must be given to rebuild this sandbox: the cache, and the test file when it takes inline snapshots. */
export function rebuildBinds(spec: SandboxSpec): BindOp[] {
  return spec.mounts.filter((op): op is BindOp => op.type === 'bind' && (op.role === 'cache' || op.role === 'inline-snapshots'));
}

/**
 * Whether a test can change host files other than Jest's own (the cache, its
 * snapshots): a writable project, or a writable bind the user asked for.
 */
export function writesToHost(spec: SandboxSpec): boolean {
  return spec.mounts.some((op) => op.type === 'bind' && !JESTS_OWN.has(op.role));
}
