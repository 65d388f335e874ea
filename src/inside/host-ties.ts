// Ties to the host that the namespaces alone leave in place, cut by the
// sandbox init before it execs the command. Each one is kernel state that is
// not per namespace: a new user, mount and pid namespace still share it.
import fs from 'node:fs';
import { SandboxError } from '../shared/errors';
import * as sys from '../native/syscalls';
import type { IsolationMode } from '../shared/spec';

/**
 * The session keyring is inherited, namespaces or not: the command could
 * search and read the host session's keys and add its own there. A new,
 * empty, anonymous one replaces it. The user keyrings (@u, @us) need nothing:
 * the kernel keeps them per user namespace.
 */
export function leaveHostSessionKeyring(): void {
  try {
    sys.joinNewSessionKeyring();
  } catch (error) {
    // A kernel built without keyrings has none to share.
    if (sys.isSyscallError(error) && error.code === 'ENOSYS') return;
    throw new SandboxError('setup', `cannot give the sandbox a session keyring of its own: ${(error as Error).message}`, {
      cause: error,
      hint: 'EDQUOT means this uid holds as many keys as kernel.keys.maxkeys allows: raise it (sysctl -w kernel.keys.maxkeys=2000)',
    });
  }
}

const MAX_CGROUP_NAMESPACES = '/proc/sys/user/max_cgroup_namespaces';

/**
 * A nested user and cgroup namespace may mount cgroupfs (v1 hierarchies and
 * v2), and cgroup control files are owned by the host's uid 0: as root, a
 * test could raise its own pids.max or write the control files of cgroups it
 * shares with host processes. Without a cgroup namespace of its own, a mount
 * of cgroupfs needs CAP_SYS_ADMIN over the host's, which nothing inside has.
 * The limit belongs to our user namespace and binds every namespace below
 * it (unshare fails with ENOSPC there); the host's own limit is untouched.
 * Never without a user namespace: there the file is the host's limit.
 */
export function forbidCgroupNamespaces(mode: IsolationMode): void {
  if (mode !== 'userns') return;
  try {
    fs.writeFileSync(MAX_CGROUP_NAMESPACES, '0\n');
  } catch (error) {
    // A kernel without cgroups has no cgroupfs to mount.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new SandboxError('setup', `cannot forbid cgroup namespaces inside the sandbox: writing ${MAX_CGROUP_NAMESPACES} failed: ${(error as Error).message}`, { cause: error });
  }
}
