// Ubuntu's AppArmor restriction of unprivileged user namespaces: detection,
// the profile doctor prints, and what `doctor --fix` would do. This machine
// has no AppArmor, so the hosts are in-memory files (see fake-files.ts).
import { appArmorPath, appArmorProfile, appArmorState, planAppArmorFix } from '../../src/host/apparmor';
import { explainUserNamespaceRefusal } from '../../src/host/host-support';
import { fakeFiles, UBUNTU_2404 } from './fake-files';

const DEBIAN_12 = { '/proc/sys/user/max_user_namespaces': '63459\n', '/proc/self/status': 'Seccomp:\t0\n' };

describe('detecting the restriction', () => {
  test('Ubuntu 24.04: AppArmor on, the restriction on, no profile of ours loaded', () => {
    expect(appArmorState(fakeFiles(UBUNTU_2404))).toEqual({ enabled: true, restrictsUserns: true, profileLoaded: false });
  });

  test('our profile is seen when the kernel lists it', () => {
    const files = fakeFiles({ ...UBUNTU_2404, '/sys/kernel/security/apparmor/profiles': 'chrome (unconfined)\nmount-sandbox-unshare (unconfined)\n' });
    expect(appArmorState(files).profileLoaded).toBe(true);
  });

  test('the restriction switched off with the sysctl', () => {
    const files = fakeFiles({ ...UBUNTU_2404, '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '0\n' });
    expect(appArmorState(files).restrictsUserns).toBe(false);
  });

  test('Debian 12 without AppArmor: nothing is restricted, nothing known about profiles', () => {
    expect(appArmorState(fakeFiles(DEBIAN_12))).toEqual({ enabled: false, restrictsUserns: false, profileLoaded: undefined });
  });

  test('the runner\'s refusal names the restriction, the doctor that prints the profile, and the sysctl', () => {
    expect(explainUserNamespaceRefusal('unshare: write failed /proc/self/uid_map: Operation not permitted', fakeFiles(UBUNTU_2404))).toBe(
      'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1): `npx mount-sandbox doctor` prints an AppArmor profile for unshare that allows them ' +
      '(as root, `mount-sandbox doctor --fix` installs it), or lift the restriction: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
    );
  });
});

describe('the profile', () => {
  test('is Ubuntu\'s form for a sandboxing tool: abi 4.0, unconfined, userns, a local include', () => {
    expect(appArmorProfile('/usr/bin/unshare')).toBe(`# Written for jest-environment-mount-sandbox (\`mount-sandbox doctor\`).
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
`);
  });

  test('a plain path stays bare; one with spaces or glob characters is quoted and escaped', () => {
    expect(appArmorPath('/opt/util-linux-2.40/bin/unshare')).toBe('/opt/util-linux-2.40/bin/unshare');
    expect(appArmorPath('/opt/my tools/bin/unshare')).toBe('"/opt/my tools/bin/unshare"');
    expect(appArmorPath('/opt/x*[y]{z}/unshare')).toBe('"/opt/x\\*\\[y\\]\\{z\\}/unshare"');
  });
});

describe('what doctor --fix would do', () => {
  const unshare = '/usr/bin/unshare';

  test.each<[string, string, Record<string, { uid: number; mode: number }>, RegExp]>([
    ['a user\'s own unshare', '/home/u/bin/unshare', { '/home/u/bin/unshare': { uid: 1000, mode: 0o100755 }, '/home/u/bin': { uid: 1000, mode: 0o40755 } }, /\/home\/u\/bin\/unshare belongs to uid 1000, not to root/],
    ['root\'s, in a folder anyone may write', '/tmp/bin/unshare', { '/tmp/bin/unshare': { uid: 0, mode: 0o100755 }, '/tmp/bin': { uid: 0, mode: 0o40777 } }, /\/tmp\/bin is writable by others than root \(mode 777\)/],
    ['root\'s, below a folder of a user', '/opt/u/bin/unshare', { '/opt/u/bin/unshare': { uid: 0, mode: 0o100755 }, '/opt/u/bin': { uid: 0, mode: 0o40755 }, '/opt/u': { uid: 1000, mode: 0o40755 } }, /\/opt\/u belongs to uid 1000/],
    ['a path with a line break (it would end the profile\'s comment and start a rule)', '/opt/x\ncapability,\n#/unshare', {}, /is not a plain absolute path/],
  ])('refuses to attach the profile to %s', (_name, path, owners, reason) => {
    const ownership = (p: string): { uid: number; mode: number } | undefined => owners[p] ?? { uid: 0, mode: 0o40755 };
    const plan = planAppArmorFix({ uid: 0, files: fakeFiles(UBUNTU_2404), unshare: path, ownership });
    expect(plan.kind).toBe('refuse');
    expect(plan.kind === 'refuse' ? plan.reason : '').toMatch(reason);
  });

  test('as root on Ubuntu 24.04: write the profile into apparmor.d and load it with apparmor_parser -r', () => {
    expect(planAppArmorFix({ uid: 0, files: fakeFiles(UBUNTU_2404), unshare })).toEqual({
      kind: 'install',
      file: '/etc/apparmor.d/mount-sandbox-unshare',
      profile: appArmorProfile(unshare),
      load: ['/usr/sbin/apparmor_parser', '-r', '/etc/apparmor.d/mount-sandbox-unshare'],
    });
  });

  test('refuses without AppArmor', () => {
    const plan = planAppArmorFix({ uid: 0, files: fakeFiles(DEBIAN_12), unshare });
    expect(plan.kind === 'refuse' && plan.reason).toMatch(/^AppArmor is not active on this host \(no \/sys\/kernel\/security\/apparmor\)/);
  });

  test('has nothing to do where the restriction is off', () => {
    const files = fakeFiles({ ...UBUNTU_2404, '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '0\n' });
    expect(planAppArmorFix({ uid: 0, files, unshare }).kind).toBe('nothing');
  });

  test('refuses when not root, and says how to run it as root', () => {
    const plan = planAppArmorFix({ uid: 1000, files: fakeFiles(UBUNTU_2404), unshare });
    expect(plan).toEqual({ kind: 'refuse', reason: '--fix writes /etc/apparmor.d/mount-sandbox-unshare and loads it into the kernel: run it as root, e.g. sudo env "PATH=$PATH" npx mount-sandbox doctor --fix' });
  });

  test('refuses an AppArmor userspace older than 4.0, which cannot compile userns rules', () => {
    const { '/etc/apparmor.d/abi/4.0': _abi, ...old } = UBUNTU_2404;
    const plan = planAppArmorFix({ uid: 0, files: fakeFiles(old), unshare });
    expect(plan.kind === 'refuse' && plan.reason).toMatch(/^\/etc\/apparmor.d\/abi\/4.0 is missing: this AppArmor userspace predates 4.0/);
  });

  test('refuses without apparmor_parser', () => {
    const { '/usr/sbin/apparmor_parser': _parser, ...noParser } = UBUNTU_2404;
    const plan = planAppArmorFix({ uid: 0, files: fakeFiles(noParser), unshare });
    expect(plan.kind === 'refuse' && plan.reason).toMatch(/^apparmor_parser is not installed/);
  });

  test.each([
    ['a named profile', 'profile unshare /usr/bin/unshare flags=(unconfined) {\n  userns,\n}\n'],
    ['a profile named by its path', '/usr/bin/unshare {\n  userns,\n}\n'],
    ['a quoted path', 'profile u "/usr/bin/unshare" {\n}\n'],
  ])('refuses when another profile already attaches to the same unshare: %s', (_form, text) => {
    const files = fakeFiles({ ...UBUNTU_2404, '/etc/apparmor.d/unshare': text });
    const plan = planAppArmorFix({ uid: 0, files, unshare });
    expect(plan.kind === 'refuse' && plan.reason).toMatch(/^\/etc\/apparmor.d\/unshare already attaches a profile to \/usr\/bin\/unshare, and two profiles for one path conflict/);
  });

  test('neither a comment nor a longer path nor our own earlier profile counts as a conflict', () => {
    const files = fakeFiles({
      ...UBUNTU_2404,
      '/etc/apparmor.d/notes': '# profile unshare /usr/bin/unshare {\n',
      '/etc/apparmor.d/other': 'profile other /usr/bin/unshare2 {\n}\n',
      '/etc/apparmor.d/mount-sandbox-unshare': appArmorProfile(unshare),
    });
    expect(planAppArmorFix({ uid: 0, files, unshare }).kind).toBe('install');
  });
});
