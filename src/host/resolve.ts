// Host-side pass before launch (bubblewrap's resolve_symlinks_in_ops):
// every bind source becomes its realpath while the host root is still the
// root, and a missing source fails here, before anything runs.
import path from 'node:path';
import { configError } from '../shared/errors';
import type { HostView } from './defaults';
import { realpathOrUndefined } from '../shared/paths';
import type { MountOp, SandboxSpec } from '../shared/spec';
import { validateSpec } from '../shared/validate';

/** `/a//b/` → `/a/b`: mountinfo lists normalized paths, and the remount pass matches on them. */
function normalized(p: string): string {
  const clean = path.normalize(p);
  return clean.length > 1 && clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

export function resolveSpec(spec: SandboxSpec, host: HostView): SandboxSpec {
  validateSpec(spec);
  const mounts: MountOp[] = [];
  spec.mounts.forEach((op, index) => {
    const dest = normalized(op.dest);
    if (op.type !== 'bind' && op.type !== 'ro-bind' && op.type !== 'overlay') {
      mounts.push({ ...op, dest });
      return;
    }
    // A dangling symlink is as missing as no file at all.
    const source = realpathOrUndefined((q) => host.realpath(q), op.source);
    if (source === undefined) {
      if (op.type !== 'overlay' && op.optional) return;
      throw configError(op.origin ?? `mounts[${index}].source`, `${op.type === 'overlay' ? 'overlay' : 'bind'} source ${op.source} does not exist`, 'create it, fix the path, or mark the bind optional');
    }
    mounts.push({ ...op, source, dest });
  });
  return { ...spec, mounts, cwd: normalized(spec.cwd) };
}
