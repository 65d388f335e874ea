// The few host files that tell why namespaces are refused (sysctls, AppArmor's
// and seccomp's state, container markers), read through one small interface
// so that the detection built on them is pure and unit-tested on hosts this
// machine is not: an Ubuntu 24.04 with AppArmor, a Docker container.
import fs from 'node:fs';

export interface HostFiles {
  /** The file's text, or undefined when it is absent or unreadable. */
  read(file: string): string | undefined;
  exists(file: string): boolean;
  /** The names in a folder; empty when it is absent or unreadable. */
  list(dir: string): string[];
}

export const realHostFiles: HostFiles = {
  read(file) {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
  },
  exists(file) {
    return fs.existsSync(file);
  },
  list(dir) {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  },
};

/** `kernel.apparmor_restrict_unprivileged_userns` → the trimmed value of /proc/sys/kernel/apparmor_restrict_unprivileged_userns. */
export function readSysctl(files: HostFiles, name: string): string | undefined {
  return files.read(`/proc/sys/${name.replace(/\./g, '/')}`)?.trim();
}
