// Containers that refuse namespaces: which container, which seccomp mode,
// and the run flags doctor and the runner name. In-memory host files.
import { containerAdvice, containerState } from '../../src/host/container';
import { explainUserNamespaceRefusal } from '../../src/host/host-support';
import { fakeFiles } from './fake-files';

const FILTERED = 'Name:\tnode\nSeccomp:\t2\nSeccomp_filters:\t1\n';

describe('detecting a container', () => {
  test('Docker, by /.dockerenv, with its default seccomp filter', () => {
    expect(containerState(fakeFiles({ '/.dockerenv': '', '/proc/self/status': FILTERED, '/proc/1/cgroup': '0::/\n' }))).toEqual({
      container: { kind: 'docker', evidence: '/.dockerenv' },
      seccomp: 2,
    });
  });

  test('Podman, by /run/.containerenv', () => {
    expect(containerState(fakeFiles({ '/run/.containerenv': 'engine="podman-4.9.3"\n' })).container).toEqual({ kind: 'podman', evidence: '/run/.containerenv' });
  });

  test.each([
    ['12:pids:/docker/3f1c0a\n0::/system.slice/docker-3f1c0a.scope\n', 'docker'],
    ['0::/machine.slice/libpod-9a8b.scope/container\n', 'podman'],
    ['11:memory:/kubepods/besteffort/pod1234/abcd\n', 'container'],
  ])('by /proc/1/cgroup: %j is %s', (cgroup, kind) => {
    expect(containerState(fakeFiles({ '/proc/1/cgroup': cgroup })).container?.kind).toBe(kind);
  });

  test('a host, or a container in its own cgroup namespace with no marker file, is no container', () => {
    expect(containerState(fakeFiles({ '/proc/1/cgroup': '0::/\n', '/proc/self/status': 'Seccomp:\t0\n' }))).toEqual({ seccomp: 0 });
    expect(containerState(fakeFiles({ '/proc/1/cgroup': '0::/init.scope\n' })).container).toBeUndefined();
  });
});

describe('what to do about it', () => {
  test('Docker with seccomp: the three --security-opt flags', () => {
    const advice = containerAdvice({ container: { kind: 'docker', evidence: '/.dockerenv' }, seccomp: 2 });
    expect(advice?.what).toBe("this is a Docker container (/.dockerenv), with a seccomp filter (Seccomp: 2 in /proc/self/status): Docker's default seccomp profile refuses unshare and clone with namespace flags");
    expect(advice?.fix).toBe(
      'docker run --security-opt seccomp=unconfined (or a seccomp profile that allows unshare, clone and clone3 with namespace flags), ' +
      'plus --security-opt apparmor=unconfined on hosts with AppArmor (Ubuntu), whose docker-default profile denies mount, ' +
      'and --security-opt systempaths=unconfined, since the sandbox mounts a /proc of its own, which the kernel refuses under a masked one',
    );
  });

  test('Podman: unconfined seccomp and an unmasked /proc', () => {
    expect(containerAdvice({ container: { kind: 'podman', evidence: '/run/.containerenv' } })?.fix).toMatch(/^podman run --security-opt seccomp=unconfined --security-opt unmask=ALL/);
  });

  test('a seccomp filter outside any known container still gets named', () => {
    expect(containerAdvice({ seccomp: 2 })?.what).toBe("this process runs under a seccomp filter (Seccomp: 2 in /proc/self/status): Docker's default seccomp profile refuses unshare and clone with namespace flags");
  });

  test('no container and no filter: nothing to say', () => {
    expect(containerAdvice({ seccomp: 0 })).toBeUndefined();
  });

  test('the runner\'s refusal in Docker names the container and the flags', () => {
    const files = fakeFiles({ '/.dockerenv': '', '/proc/self/status': FILTERED, '/proc/sys/user/max_user_namespaces': '63459\n' });
    expect(explainUserNamespaceRefusal('unshare: unshare failed: Operation not permitted', files)).toMatch(
      /^this is a Docker container \(\/\.dockerenv\), with a seccomp filter .*: docker run --security-opt seccomp=unconfined .*--security-opt apparmor=unconfined .*--security-opt systempaths=unconfined/,
    );
  });

  test('a sysctl that says no is the reason, even in a container', () => {
    const files = fakeFiles({ '/.dockerenv': '', '/proc/self/status': FILTERED, '/proc/sys/user/max_user_namespaces': '0\n' });
    expect(explainUserNamespaceRefusal('unshare: unshare failed: No space left on device', files)).toBe('user namespaces are disabled: sysctl -w user.max_user_namespaces=15000');
  });
});
