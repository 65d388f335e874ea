// The exact text `mount-sandbox doctor` prints about user namespaces on the
// hosts people have; in-memory host files stand for Ubuntu 24.04.
import { formatFindings, userNamespaceFindings } from '../../src/cli/doctor-report';
import { fakeFiles, UBUNTU_2404 } from './fake-files';

const REFUSED = { ok: false, stderr: 'unshare: write failed /proc/self/uid_map: Operation not permitted\n' };

describe('doctor on Ubuntu 24.04', () => {
  test('an unprivileged user is refused and gets the profile, the commands that install it and the sysctl alternative', () => {
    const text = formatFindings(userNamespaceFindings({ uid: 1000, probe: REFUSED, files: fakeFiles(UBUNTU_2404), unshare: '/usr/bin/unshare' }));
    expect(text).toBe(`FAIL  user namespaces are refused: unshare: write failed /proc/self/uid_map: Operation not permitted
      fix: AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1), and no profile allows them to /usr/bin/unshare

Either give /usr/bin/unshare an AppArmor profile that allows user namespaces (as root,
\`mount-sandbox doctor --fix\` does these two steps):

sudo tee /etc/apparmor.d/mount-sandbox-unshare > /dev/null <<'EOF'
# Written for jest-environment-mount-sandbox (\`mount-sandbox doctor\`).
# Lets /usr/bin/unshare create user namespaces under
# kernel.apparmor_restrict_unprivileged_userns=1. It makes both namespaces of a
# sandbox, and every program it starts keeps this profile, which confines
# nothing (flags=(unconfined), like Ubuntu's profiles for sandboxing tools).

abi <abi/4.0>,
include <tunables/global>

profile mount-sandbox-unshare /usr/bin/unshare flags=(unconfined) {
  userns,

  # Site-specific additions and overrides. See local/README for details.
  include if exists <local/mount-sandbox-unshare>
}
EOF
sudo apparmor_parser -r /etc/apparmor.d/mount-sandbox-unshare

Any local user can then create user namespaces through that unshare.
Or lift the restriction for every program on this host (the second line keeps it after a reboot):

sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0
echo 'kernel.apparmor_restrict_unprivileged_userns = 0' | sudo tee /etc/sysctl.d/60-mount-sandbox-userns.conf

mount-sandbox cannot sandbox tests on this host.
`);
  });

  test('the profile names the unshare doctor found, by its real path', () => {
    const [finding] = userNamespaceFindings({ uid: 1000, probe: REFUSED, files: fakeFiles(UBUNTU_2404), unshare: '/opt/util-linux/bin/unshare' });
    expect(finding.details).toContain('profile mount-sandbox-unshare /opt/util-linux/bin/unshare flags=(unconfined) {');
  });

  test('once the profile is in place, the user is told why it works', () => {
    expect(userNamespaceFindings({ uid: 1000, probe: { ok: true, stderr: '' }, files: fakeFiles(UBUNTU_2404), unshare: '/usr/bin/unshare' })).toEqual([
      { verdict: 'ok', what: 'user namespaces work for this user' },
      { verdict: 'ok', what: 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1), and a profile allows them to /usr/bin/unshare' },
    ]);
  });

  test('root works anyway, and is warned that other users need the profile, which --fix installs', () => {
    const findings = userNamespaceFindings({ uid: 0, probe: { ok: true, stderr: '' }, files: fakeFiles(UBUNTU_2404), unshare: '/usr/bin/unshare' });
    expect(findings.map((f) => f.verdict)).toEqual(['ok', 'warn']);
    expect(findings[1].what).toBe("AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1): root is exempt, but other users' runs are refused unless /usr/bin/unshare has a profile that allows them");
    expect(findings[1].fix).toBe('`mount-sandbox doctor --fix` installs the profile below');
    expect(findings[1].details).toContain('sudo apparmor_parser -r /etc/apparmor.d/mount-sandbox-unshare');
    expect(formatFindings(findings)).toMatch(/\nmount-sandbox can sandbox tests on this host\.\n$/);
  });

  test('root with the profile loaded: all ok', () => {
    const files = fakeFiles({ ...UBUNTU_2404, '/sys/kernel/security/apparmor/profiles': 'mount-sandbox-unshare (unconfined)\n' });
    const findings = userNamespaceFindings({ uid: 0, probe: { ok: true, stderr: '' }, files, unshare: '/usr/bin/unshare' });
    expect(findings[1]).toEqual({ verdict: 'ok', what: 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1); the profile mount-sandbox-unshare allows them to /usr/bin/unshare, so other users can sandbox too' });
  });
});

describe('doctor elsewhere', () => {
  test('a refusal without the AppArmor restriction gets the runner\'s explanation, and no profile', () => {
    const files = fakeFiles({ '/proc/sys/user/max_user_namespaces': '0\n' });
    const [finding] = userNamespaceFindings({ uid: 1000, probe: { ok: false, stderr: 'unshare: unshare failed: No space left on device' }, files, unshare: '/usr/bin/unshare' });
    expect(finding).toEqual({ verdict: 'fail', what: 'user namespaces are refused: unshare: unshare failed: No space left on device', fix: 'user namespaces are disabled: sysctl -w user.max_user_namespaces=15000' });
  });

  test('in Docker, the refusal names the container and its flags', () => {
    const files = fakeFiles({ '/.dockerenv': '', '/proc/self/status': 'Seccomp:\t2\n' });
    const [finding] = userNamespaceFindings({ uid: 0, probe: { ok: false, stderr: 'unshare: unshare failed: Operation not permitted' }, files, unshare: '/usr/bin/unshare' });
    expect(finding.verdict).toBe('warn');
    expect(finding.fix).toMatch(/^this is a Docker container \(\/\.dockerenv\), with a seccomp filter.*docker run --security-opt seccomp=unconfined/);
  });

  test('a host without the restriction says nothing about AppArmor', () => {
    expect(userNamespaceFindings({ uid: 1000, probe: { ok: true, stderr: '' }, files: fakeFiles({}), unshare: '/usr/bin/unshare' })).toEqual([{ verdict: 'ok', what: 'user namespaces work for this user' }]);
  });
});
