// Containers refuse namespaces for reasons of their own: Docker's default
// seccomp profile fails unshare(2) and clone(2) with namespace flags unless
// the container has CAP_SYS_ADMIN, its AppArmor profile (docker-default, on
// AppArmor hosts) denies mount, and a masked /proc makes the kernel refuse
// the sandbox's own procfs mount. Detected from files, pure over HostFiles.
import { type HostFiles } from './host-files';

export type ContainerKind = 'docker' | 'podman' | 'container';

export interface ContainerState {
  /** Which container this process seems to run in, and the file that says so. */
  container?: { kind: ContainerKind; evidence: string };
  /** /proc/self/status Seccomp: 0 none, 1 strict, 2 a filter (what Docker and Podman install). */
  seccomp?: 0 | 1 | 2;
}

export function containerState(files: HostFiles): ContainerState {
  const state: ContainerState = {};
  if (files.exists('/.dockerenv')) {
    state.container = { kind: 'docker', evidence: '/.dockerenv' };
  } else if (files.exists('/run/.containerenv')) {
    state.container = { kind: 'podman', evidence: '/run/.containerenv' };
  } else {
    // cgroup v1, or v2 without a cgroup namespace, names the runtime; inside a cgroup namespace it reads `0::/`.
    const cgroup = files.read('/proc/1/cgroup') ?? '';
    const runtime = /[/-](docker|libpod|kubepods|containerd|lxc)\b/.exec(cgroup)?.[1];
    if (runtime !== undefined) {
      state.container = { kind: runtime === 'docker' ? 'docker' : runtime === 'libpod' ? 'podman' : 'container', evidence: `/proc/1/cgroup (${runtime})` };
    }
  }
  const mode = /^Seccomp:\s+(\d)/m.exec(files.read('/proc/self/status') ?? '')?.[1];
  if (mode === '0' || mode === '1' || mode === '2') state.seccomp = Number(mode) as 0 | 1 | 2;
  return state;
}

const NAMES: Record<ContainerKind, string> = { docker: 'a Docker container', podman: 'a Podman container', container: 'a container' };

/** Why a container refuses user namespaces, and the run flags that allow them; undefined outside containers and seccomp filters. */
export function containerAdvice(state: ContainerState): { what: string; fix: string } | undefined {
  const filtered = state.seccomp === 2;
  if (state.container === undefined && !filtered) return undefined;
  const where = state.container ? `this is ${NAMES[state.container.kind]} (${state.container.evidence})` : 'this process runs under a seccomp filter';
  const seccomp = filtered
    ? `${state.container ? ', with a seccomp filter' : ''} (Seccomp: 2 in /proc/self/status): Docker's default seccomp profile refuses unshare and clone with namespace flags`
    : '';
  const what = `${where}${seccomp}`;
  if (state.container?.kind === 'podman') {
    return { what, fix: 'podman run --security-opt seccomp=unconfined --security-opt unmask=ALL (the sandbox mounts a /proc of its own, which the kernel refuses under a masked one)' };
  }
  return {
    what,
    fix: 'docker run --security-opt seccomp=unconfined (or a seccomp profile that allows unshare, clone and clone3 with namespace flags), ' +
      'plus --security-opt apparmor=unconfined on hosts with AppArmor (Ubuntu), whose docker-default profile denies mount, ' +
      'and --security-opt systempaths=unconfined, since the sandbox mounts a /proc of its own, which the kernel refuses under a masked one',
  };
}
