// An in-memory HostFiles: path → content. Folders exist implicitly above
// every file; list() gives a folder's direct entries.
import path from 'node:path';
import type { HostFiles } from '../../src/host/host-files';

export function fakeFiles(files: Record<string, string>): HostFiles {
  const isDir = (dir: string): boolean => Object.keys(files).some((file) => file.startsWith(`${dir}/`));
  return {
    read: (file) => files[file],
    exists: (file) => file in files || isDir(file),
    list: (dir) => [...new Set(Object.keys(files).filter((file) => file.startsWith(`${dir}/`)).map((file) => file.slice(dir.length + 1).split(path.sep)[0]))],
  };
}

/** Ubuntu 24.04 as installed: AppArmor on, the restriction on, AppArmor 4 userspace, no profile for unshare. */
export const UBUNTU_2404: Record<string, string> = {
  '/sys/module/apparmor/parameters/enabled': 'Y\n',
  '/sys/kernel/security/apparmor/profiles': 'unprivileged_userns (enforce)\nchrome (unconfined)\n',
  '/proc/sys/kernel/apparmor_restrict_unprivileged_userns': '1\n',
  '/proc/sys/user/max_user_namespaces': '63459\n',
  '/proc/self/status': 'Name:\tnode\nSeccomp:\t0\nSeccomp_filters:\t0\n',
  '/etc/apparmor.d/abi/4.0': 'abi/4.0 feature set\n',
  '/etc/apparmor.d/chrome': 'abi <abi/4.0>,\ninclude <tunables/global>\n\nprofile chrome /opt/google/chrome/chrome flags=(unconfined) {\n  userns,\n}\n',
  '/usr/sbin/apparmor_parser': '',
};
