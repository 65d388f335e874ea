// `doctor --fix` carried out against a temporary folder as apparmor.d and a
// stand-in apparmor_parser, a script that records how it was called and what
// it found. This checks our part (the file, its mode, the parser's argv, the
// rollback when loading fails); the real apparmor_parser and the kernel's
// AppArmor are not on this machine and are not exercised here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installProfile } from '../../src/cli/doctor-fix';
import { appArmorProfile, planAppArmorFix } from '../../src/host/apparmor';
import { realHostFiles, type HostFiles } from '../../src/host/host-files';
import { UBUNTU_2404 } from './fake-files';

describe('installing the profile', () => {
  let dir: string;
  let apparmorDir: string;
  let calls: string;

  /** Ubuntu 24.04's kernel state, with the temporary apparmor.d and parser as real files. */
  function ubuntuWithRealDir(): HostFiles {
    return {
      read: (file) => (file.startsWith(dir) ? realHostFiles.read(file) : UBUNTU_2404[file]),
      exists: (file) => (file.startsWith(dir) ? realHostFiles.exists(file) : file in UBUNTU_2404 || file === '/sys/kernel/security/apparmor'),
      list: (folder) => (folder.startsWith(dir) ? realHostFiles.list(folder) : []),
    };
  }

  function standInParser(exitCode: number): string {
    const parser = path.join(dir, 'apparmor_parser');
    // Records its argv and whether the profile it was asked to load was in place, with `userns,` in it.
    fs.writeFileSync(parser, `#!/bin/sh
printf '%s\\n' "$@" > ${JSON.stringify(calls)}
grep -q '^  userns,$' "$2" && echo found-userns >> ${JSON.stringify(calls)}
[ ${exitCode} -eq 0 ] || echo 'AppArmor parser error for /x in profile mount-sandbox-unshare at line 3' >&2
exit ${exitCode}
`, { mode: 0o755 });
    return parser;
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mount-sandbox-stage-fix-'));
    apparmorDir = path.join(dir, 'apparmor.d');
    fs.mkdirSync(path.join(apparmorDir, 'abi'), { recursive: true });
    fs.writeFileSync(path.join(apparmorDir, 'abi', '4.0'), '');
    calls = path.join(dir, 'calls');
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function plan(parser: string): ReturnType<typeof planAppArmorFix> {
    return planAppArmorFix({ uid: 0, files: ubuntuWithRealDir(), unshare: '/usr/bin/unshare', apparmorDir, parsers: [parser] });
  }

  test('writes the profile (0644) and loads it with apparmor_parser -r FILE', () => {
    const planned = plan(standInParser(0));
    if (planned.kind !== 'install') throw new Error(`expected an install plan, got ${JSON.stringify(planned)}`);
    const file = path.join(apparmorDir, 'mount-sandbox-unshare');
    expect(installProfile(planned)).toEqual({ ok: true });
    expect(fs.readFileSync(file, 'utf8')).toBe(appArmorProfile('/usr/bin/unshare'));
    expect(fs.statSync(file).mode & 0o777).toBe(0o644);
    expect(fs.readFileSync(calls, 'utf8')).toBe(`-r\n${file}\nfound-userns\n`);
  });

  test('a profile the parser rejects is removed again, and the parser\'s message is passed on', () => {
    const planned = plan(standInParser(1));
    if (planned.kind !== 'install') throw new Error('expected an install plan');
    const result = installProfile(planned);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/-r .*mount-sandbox-unshare failed \(exit 1: AppArmor parser error for \/x in profile mount-sandbox-unshare at line 3\); .*mount-sandbox-unshare was removed again$/);
    expect(fs.existsSync(path.join(apparmorDir, 'mount-sandbox-unshare'))).toBe(false);
  });

  test('a rejected reinstall puts back the profile that was there', () => {
    const file = path.join(apparmorDir, 'mount-sandbox-unshare');
    fs.writeFileSync(file, 'the earlier profile\n');
    const planned = plan(standInParser(1));
    if (planned.kind !== 'install') throw new Error('expected an install plan');
    expect(installProfile(planned).ok).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe('the earlier profile\n');
  });

  test('another profile in the folder for the same unshare stops the fix before anything is written', () => {
    fs.writeFileSync(path.join(apparmorDir, 'unshare'), 'profile unshare /usr/bin/unshare flags=(unconfined) {\n  userns,\n}\n');
    const planned = plan(standInParser(0));
    expect(planned.kind).toBe('refuse');
    expect(fs.existsSync(path.join(apparmorDir, 'mount-sandbox-unshare'))).toBe(false);
    expect(fs.existsSync(calls)).toBe(false);
  });
});
