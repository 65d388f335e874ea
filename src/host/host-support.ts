// Which isolation mode this host allows, and in plain words why not when it
// allows none. Decided by trying: a sysctl can say yes while AppArmor or a
// seccomp profile says no.
import { spawnSync } from 'node:child_process';
import { SandboxError } from '../shared/errors';
import { RESTRICT_USERNS_SYSCTL } from './apparmor';
import { containerAdvice, containerState } from './container';
import { readSysctl, realHostFiles, type HostFiles } from './host-files';
import type { IsolationMode, UidMode } from '../shared/spec';
import type { Tools } from '../shared/sandbox-protocol';

export function outerUnshareFlags(mode: IsolationMode, uid: UidMode, options: { network: boolean; uts: boolean }): string[] {
  // --ipc: SysV IPC objects and POSIX message queues of the host (of the same uid) stay out of reach, and the sandbox's die with it.
  const namespaces = mode === 'userns'
    ? ['--user', uid === 'root' ? '--map-root-user' : '--map-current-user', '--keep-caps', '--mount', '--pid', '--ipc']
    : ['--mount', '--pid', '--ipc'];
  return [
    ...namespaces,
    ...(options.network ? ['--net'] : []),
    ...(options.uts ? ['--uts'] : []),
    '--propagation', 'unchanged', '--fork', '--kill-child',
  ];
}

interface Attempt {
  ok: boolean;
  stderr: string;
}

function tryUnshare(tools: Tools, mode: IsolationMode): Attempt {
  const result = spawnSync(tools.unshare, [...outerUnshareFlags(mode, 'same', { network: false, uts: false }), '--', tools.sh, '-c', 'exit 0'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { ok: result.status === 0, stderr: (result.stderr ?? '').trim() || (result.error?.message ?? '') };
}

/** The known reasons a host refuses unprivileged user namespaces, each with its fix. */
export function explainUserNamespaceRefusal(stderr: string, files: HostFiles = realHostFiles): string {
  const reasons: string[] = [];
  if (readSysctl(files, RESTRICT_USERNS_SYSCTL) === '1') {
    reasons.push(`AppArmor restricts unprivileged user namespaces (${RESTRICT_USERNS_SYSCTL}=1): \`npx mount-sandbox doctor\` prints an AppArmor profile for unshare that allows them (as root, \`mount-sandbox doctor --fix\` installs it), or lift the restriction: sudo sysctl -w ${RESTRICT_USERNS_SYSCTL}=0`);
  }
  if (readSysctl(files, 'kernel.unprivileged_userns_clone') === '0') {
    reasons.push('unprivileged user namespaces are disabled: sysctl -w kernel.unprivileged_userns_clone=1');
  }
  if (readSysctl(files, 'user.max_user_namespaces') === '0') {
    reasons.push('user namespaces are disabled: sysctl -w user.max_user_namespaces=15000');
  }
  if (/unrecognized option/.test(stderr)) {
    reasons.push('this unshare lacks a flag the sandbox passes: `npx mount-sandbox doctor` names it; util-linux 2.36.1 or newer has them all');
  }
  if (reasons.length > 0) return reasons.join('; ');
  // No sysctl says no: a container's seccomp filter is the usual culprit.
  const container = containerAdvice(containerState(files));
  if (container !== undefined) return `${container.what}: ${container.fix}`;
  return 'a seccomp profile (Docker\'s default) or a chroot may forbid them: in Docker, run with --security-opt seccomp=unconfined --security-opt apparmor=unconfined, or run as root';
}

export interface HostSupport {
  mode: IsolationMode;
  /** Why the preferred mode was not used, when it was not. */
  note?: string;
}

let cached: HostSupport | undefined;

/** Prefers a user namespace even as root; real root without one only as a fallback. */
export function detectHostSupport(tools: Tools): HostSupport {
  if (cached) return cached;
  const userns = tryUnshare(tools, 'userns');
  if (userns.ok) {
    cached = { mode: 'userns' };
    return cached;
  }
  const why = explainUserNamespaceRefusal(userns.stderr);
  if (process.getuid?.() === 0 && tryUnshare(tools, 'root-no-userns').ok) {
    cached = {
      mode: 'root-no-userns',
      note: `user namespaces are refused (${userns.stderr}); running as real root without one: mounts are not locked, so the command runs with every capability dropped`,
    };
    return cached;
  }
  throw new SandboxError('host', `cannot create a user namespace: ${userns.stderr}`, { hint: `${why}; or run as root` });
}
