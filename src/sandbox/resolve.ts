// Host-side pass before launch (bubblewrap's resolve_symlinks_in_ops):
// every bind source becomes its realpath while the host root is still the
// root, and a missing source fails here, before anything runs.
import { configError } from '../errors';
import type { HostView } from './defaults';
import type { MountOp, SandboxSpec } from './spec';
import { validateSpec } from './validate';

export function resolveSpec(spec: SandboxSpec, host: HostView): SandboxSpec {
  validateSpec(spec);
  const mounts: MountOp[] = [];
  spec.mounts.forEach((op, index) => {
    if (op.type !== 'bind' && op.type !== 'ro-bind') {
      mounts.push(op);
      return;
    }
    if (host.kind(op.source) === 'missing') {
      if (op.optional) return;
      throw configError(op.origin ?? `mounts[${index}].source`, `bind source ${op.source} does not exist`, 'create it, fix the path, or mark the bind optional');
    }
    mounts.push({ ...op, source: host.realpath(op.source) });
  });
  return { ...spec, mounts };
}
