// Ubuntu 23.10+ (and GitHub's ubuntu-24.04 runners) set
// kernel.apparmor_restrict_unprivileged_userns=1: a process with no AppArmor
// profile of its own that creates a user namespace is moved to the
// `unprivileged_userns` profile, which denies every capability inside, so
// unshare's uid map or the init's mounts fail with EPERM. A profile with a
// `userns,` rule lifts that for the programs it attaches to.
//
// Which program needs it: in the launch chain (setpriv → unshare → node init
// → unshare → setpriv → sh → node child) only the two `unshare` processes
// create user namespaces; node never does. A profile in unconfined mode
// (`flags=(unconfined)`) confines nothing, and on exec it attaches the new
// program's own profile if one matches its path, or else keeps itself (the
// kernel's profile_transition: "unconfined exec no attachment"). So the outer
// unshare attaches this profile by its path, the node init and everything it
// starts inherit it, and the nested unshare, the same binary at the same path
// inside the sandbox, attaches it again. One profile on the unshare binary
// covers the whole chain.
//
// Everything here is pure, over HostFiles, so that the detection and the
// exact text doctor prints are unit-tested on hosts without AppArmor.
import fs from 'node:fs';
import path from 'node:path';
import { readSysctl, type HostFiles } from './host-files';

export const RESTRICT_USERNS_SYSCTL = 'kernel.apparmor_restrict_unprivileged_userns';
export const PROFILE_NAME = 'mount-sandbox-unshare';
export const APPARMOR_DIR = '/etc/apparmor.d';
/** Sorted after Ubuntu's /usr/lib/sysctl.d/10-apparmor.conf, which sets the restriction. */
export const SYSCTL_FILE = '/etc/sysctl.d/60-mount-sandbox-userns.conf';
const PARSERS = ['/usr/sbin/apparmor_parser', '/sbin/apparmor_parser'];

export interface AppArmorState {
  /** AppArmor is loaded in the kernel. */
  enabled: boolean;
  /** kernel.apparmor_restrict_unprivileged_userns is 1. */
  restrictsUserns: boolean;
  /** Our profile is loaded (known only where the list of loaded profiles is readable). */
  profileLoaded: boolean | undefined;
}

export function appArmorState(files: HostFiles): AppArmorState {
  const enabled = files.exists('/sys/kernel/security/apparmor') || files.read('/sys/module/apparmor/parameters/enabled')?.trim() === 'Y';
  const loaded = files.read('/sys/kernel/security/apparmor/profiles');
  return {
    enabled,
    restrictsUserns: readSysctl(files, RESTRICT_USERNS_SYSCTL) === '1',
    profileLoaded: loaded === undefined ? undefined : loaded.split('\n').some((line) => line.startsWith(`${PROFILE_NAME} (`)),
  };
}

/** A path as an AppArmor attachment: bare when plain, else quoted with AppArmor's glob characters escaped. */
export function appArmorPath(file: string): string {
  if (/^\/[A-Za-z0-9._+/-]+$/.test(file)) return file;
  return `"${file.replace(/[\\"*?[\]{}^@]/g, '\\$&')}"`;
}

/** The profile for the unshare at `unshare` (its real path: AppArmor attaches by the executable's resolved path). */
export function appArmorProfile(unshare: string): string {
  return [
    '# Written for jest-environment-mount-sandbox (`mount-sandbox doctor`).',
    `# Lets ${unshare} create user namespaces under`,
    `# ${RESTRICT_USERNS_SYSCTL}=1. It makes both namespaces of a`,
    '# sandbox, and every program it starts keeps this profile, which confines',
    '# nothing (flags=(unconfined), like Ubuntu\'s profiles for sandboxing tools).',
    '',
    'abi <abi/4.0>,',
    'include <tunables/global>',
    '',
    `profile ${PROFILE_NAME} ${appArmorPath(unshare)} flags=(unconfined) {`,
    '  userns,',
    '',
    '  # Site-specific additions and overrides. See local/README for details.',
    `  include if exists <local/${PROFILE_NAME}>`,
    '}',
    '',
  ].join('\n');
}

/** What doctor prints under a refusal: the profile with the commands that install it, and the sysctl alternative. Lines to paste as they are. */
export function appArmorAdvice(unshare: string, apparmorDir = APPARMOR_DIR): string[] {
  const file = path.join(apparmorDir, PROFILE_NAME);
  return [
    `Either give ${unshare} an AppArmor profile that allows user namespaces (as root,`,
    '`mount-sandbox doctor --fix` does these two steps):',
    '',
    `sudo tee ${file} > /dev/null <<'EOF'`,
    ...appArmorProfile(unshare).trimEnd().split('\n'),
    'EOF',
    `sudo apparmor_parser -r ${file}`,
    '',
    'Any local user can then create user namespaces through that unshare.',
    'Or lift the restriction for every program on this host (the second line keeps it after a reboot):',
    '',
    `sudo sysctl -w ${RESTRICT_USERNS_SYSCTL}=0`,
    `echo '${RESTRICT_USERNS_SYSCTL} = 0' | sudo tee ${SYSCTL_FILE}`,
  ];
}

export type AppArmorFix =
  | { kind: 'refuse'; reason: string }
  | { kind: 'nothing'; reason: string }
  | { kind: 'install'; file: string; profile: string; load: [string, ...string[]] };

export interface FixContext {
  uid: number;
  files: HostFiles;
  /** The real path of the unshare the launcher runs. */
  unshare: string;
  apparmorDir?: string;
  /** Where to look for apparmor_parser (defaults: /usr/sbin, /sbin). */
  parsers?: string[];
  /** Owner and mode of a path, not following a link (default: lstat); undefined when it cannot be read. */
  ownership?: (p: string) => { uid: number; mode: number } | undefined;
}

function lstatOwnership(p: string): { uid: number; mode: number } | undefined {
  try {
    const stat = fs.lstatSync(p);
    return { uid: stat.uid, mode: stat.mode };
  } catch {
    return undefined;
  }
}

/**
 * Why root must not attach a profile to `unshare`, or undefined. The profile
 * lets whoever runs that file make user namespaces, and the file was found
 * through the caller's PATH (doctor tells users to keep it under sudo): so
 * it, and every folder above it, must be root's and writable by root alone.
 * A control character would end the profile's comment line and start a rule.
 */
function untrustedUnshare(unshare: string, ownership: NonNullable<FixContext['ownership']>): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(unshare) || !path.isAbsolute(unshare)) return `its path ${JSON.stringify(unshare)} is not a plain absolute path`;
  for (let p = unshare; ; p = path.dirname(p)) {
    const owner = ownership(p);
    if (owner === undefined) return `${p} cannot be read`;
    if (owner.uid !== 0) return `${p} belongs to uid ${owner.uid}, not to root`;
    if ((owner.mode & 0o022) !== 0) return `${p} is writable by others than root (mode ${(owner.mode & 0o7777).toString(8)})`;
    if (p === '/') return undefined;
  }
}

/** Other profiles in apparmor.d that attach to the same path: two profiles for one path conflict, and the kernel may then attach neither. */
function conflictingProfiles(files: HostFiles, dir: string, unshare: string): string[] {
  const escaped = unshare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const header = new RegExp(`^\\s*(?:profile\\s+\\S+\\s+)?"?${escaped}"?(?:\\s|\\{|$)`, 'm');
  return files.list(dir)
    .filter((name) => name !== PROFILE_NAME)
    .map((name) => path.join(dir, name))
    .filter((file) => {
      const text = files.read(file);
      return text !== undefined && header.test(text.split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n'));
    });
}

/** What `doctor --fix` would do, decided before anything is written. */
export function planAppArmorFix(context: FixContext): AppArmorFix {
  const { files, unshare } = context;
  const dir = context.apparmorDir ?? APPARMOR_DIR;
  const state = appArmorState(files);
  if (!state.enabled) {
    return { kind: 'refuse', reason: 'AppArmor is not active on this host (no /sys/kernel/security/apparmor): --fix only installs an AppArmor profile, and there is no AppArmor restriction to lift here' };
  }
  if (!state.restrictsUserns) {
    return { kind: 'nothing', reason: `AppArmor does not restrict unprivileged user namespaces here (${RESTRICT_USERNS_SYSCTL} is not 1): no profile is needed` };
  }
  const file = path.join(dir, PROFILE_NAME);
  if (context.uid !== 0) {
    return { kind: 'refuse', reason: `--fix writes ${file} and loads it into the kernel: run it as root, e.g. sudo env "PATH=$PATH" npx mount-sandbox doctor --fix` };
  }
  if (!files.exists(path.join(dir, 'abi', '4.0'))) {
    return { kind: 'refuse', reason: `${path.join(dir, 'abi', '4.0')} is missing: this AppArmor userspace predates 4.0 and cannot compile \`userns,\` rules; upgrade the apparmor package, or lift the restriction with sudo sysctl -w ${RESTRICT_USERNS_SYSCTL}=0` };
  }
  const parser = (context.parsers ?? PARSERS).find((candidate) => files.exists(candidate));
  if (parser === undefined) {
    return { kind: 'refuse', reason: 'apparmor_parser is not installed (Debian/Ubuntu: apt-get install apparmor), so no profile can be loaded' };
  }
  const untrusted = untrustedUnshare(unshare, context.ownership ?? lstatOwnership);
  if (untrusted !== undefined) {
    return { kind: 'refuse', reason: `the profile would let anyone who runs ${JSON.stringify(unshare)} make user namespaces, and ${untrusted}: install util-linux's unshare where only root can change it (apt-get install util-linux puts it in /usr/bin), and put it first in the PATH --fix runs with` };
  }
  const conflicts = conflictingProfiles(files, dir, unshare);
  if (conflicts.length > 0) {
    return {
      kind: 'refuse',
      reason: `${conflicts.join(', ')} already attach${conflicts.length === 1 ? 'es' : ''} a profile to ${unshare}, and two profiles for one path conflict (AppArmor may then attach neither): add \`userns,\` to that profile instead (it must not confine the programs unshare starts), or remove it`,
    };
  }
  return { kind: 'install', file, profile: appArmorProfile(unshare), load: [parser, '-r', file] };
}
