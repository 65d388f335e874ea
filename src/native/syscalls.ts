// The only module that talks to libc. Every wrapper is synchronous on purpose:
// koffi runs sync calls on the calling (main) thread, and the sandbox setup
// must never hop to the libuv threadpool, whose threads may sit in another
// namespace. Each failure becomes a SyscallError naming the call, its
// arguments and errno.
import fs from 'node:fs';
import koffi from 'koffi';
import { SyscallError } from './syscall-error';

export { SyscallError, isSyscallError } from './syscall-error';

import {
  MNT_DETACH, MS_BIND, MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY,
  MS_REC, MS_RELATIME, MS_REMOUNT, MS_SLAVE, MS_STRICTATIME,
} from './mount-flags';

// <sys/prctl.h>
const PR_SET_PDEATHSIG = 1;
const PR_SET_NO_NEW_PRIVS = 38;

// <fcntl.h>
const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;
const O_NONBLOCK = 0o4000;

// <linux/prctl.h>, <linux/capability.h>, <linux/seccomp.h>: the one-Node chain's lock-down.
const PR_GET_SECCOMP = 21;
const PR_CAPBSET_DROP = 24;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_RAISE = 2;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;
/** The one capability the init chain's nested unshare needs: see init.ts. */
export const CAP_SETFCAP = 31;
const LINUX_CAPABILITY_VERSION_3 = 0x20080522;
const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_FILTER_FLAG_TSYNC = 1;
// Neither seccomp nor (in older glibc) its flags have a wrapper.
const SYS_SECCOMP: Partial<Record<string, number>> = { x64: 317, arm64: 277 };

// pivot_root has no glibc wrapper.
const SYS_PIVOT_ROOT: Partial<Record<string, number>> = { x64: 155, arm64: 41 };
// Nor has keyctl (it lives in libkeyutils, which we do not require). <linux/keyctl.h>:
const SYS_KEYCTL: Partial<Record<string, number>> = { x64: 250, arm64: 219 };
const KEYCTL_JOIN_SESSION_KEYRING = 1;

// <linux/sockios.h>, <net/if.h>: enough to bring up loopback in a new netns.
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

// <asm-generic/ioctls.h>, <fcntl.h>: a pseudo-terminal for interactive commands.
const TIOCSCTTY = 0x540e;
const TIOCSWINSZ = 0x5414;
const O_RDWR = 2;
const O_NOCTTY = 0o400;
const O_CLOEXEC = 0o2000000;

const libc = koffi.load('libc.so.6');

koffi.struct('mount_sandbox_rlimit', { cur: 'uint64', max: 'uint64' });

koffi.struct('mount_sandbox_winsize', { rows: 'unsigned short', cols: 'unsigned short', xpixel: 'unsigned short', ypixel: 'unsigned short' });

koffi.struct('mount_sandbox_ifreq', {
  name: koffi.array('char', 16, 'String'),
  flags: 'short',
  pad: koffi.array('uint8', 22),
});

koffi.struct('mount_sandbox_cap_header', { version: 'uint32', pid: 'int' });
koffi.struct('mount_sandbox_cap_data', { effective: 'uint32', permitted: 'uint32', inheritable: 'uint32' });
// Version 3 of the capability ABI reads two data structs: capabilities 0-31, then 32-63.
koffi.struct('mount_sandbox_cap_data_v3', { low: 'mount_sandbox_cap_data', high: 'mount_sandbox_cap_data' });
koffi.struct('mount_sandbox_sock_fprog', { len: 'unsigned short', filter: 'void *' });

const c = {
  mount: libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  syscall: libc.func('long syscall(long nr, ...)'),
  prctl: libc.func('int prctl(int option, ...)'),
  fcntl: libc.func('int fcntl(int fd, int cmd, ...)'),
  close: libc.func('int close(int fd)'),
  setsid: libc.func('int setsid(void)'),
  sethostname: libc.func('int sethostname(const char *name, size_t len)'),
  execve: libc.func('int execve(const char *path, const char **argv, const char **envp)'),
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  setrlimit: libc.func('int setrlimit(int resource, const mount_sandbox_rlimit *limit)'),
  ioctlIfreq: libc.func('int ioctl(int fd, unsigned long request, _Inout_ mount_sandbox_ifreq *req)'),
  ioctlLong: libc.func('int ioctl(int fd, unsigned long request, long arg)'),
  ioctlWinsize: libc.func('int ioctl(int fd, unsigned long request, const mount_sandbox_winsize *size)'),
  posixOpenpt: libc.func('int posix_openpt(int flags)'),
  grantpt: libc.func('int grantpt(int fd)'),
  unlockpt: libc.func('int unlockpt(int fd)'),
  ptsnameR: libc.func('int ptsname_r(int fd, _Out_ uint8_t *buf, size_t buflen)'),
  capset: libc.func('int capset(mount_sandbox_cap_header *header, mount_sandbox_cap_data_v3 *data)'),
  unshare: libc.func('int unshare(int flags)'),
  seccompFilter: libc.func('long syscall(long nr, unsigned int op, unsigned int flags, const mount_sandbox_sock_fprog *prog)'),
};

function check(result: number | bigint, syscall: string, args: readonly unknown[]): number {
  const value = Number(result);
  if (value < 0) throw new SyscallError(syscall, args, koffi.errno());
  return value;
}

export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): void {
  check(c.mount(source, target, fstype, flags, data), 'mount', [source, target, fstype, describeMountFlags(flags), data]);
}

export function umount2(target: string, flags: number): void {
  check(c.umount2(target, flags), 'umount2', [target, flags === MNT_DETACH ? 'MNT_DETACH' : flags]);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  const nr = SYS_PIVOT_ROOT[process.arch];
  if (nr === undefined) throw new Error(`mount-sandbox: pivot_root: unsupported architecture ${process.arch}`);
  check(c.syscall(nr, 'const char *', newRoot, 'const char *', putOld), 'pivot_root', [newRoot, putOld]);
}

/**
 * Gives the calling thread a new, empty, anonymous session keyring (a NULL
 * name never joins an existing one). Only this thread's credentials change,
 * which is enough for a process about to exec from it: the session keyring
 * is kept across exec and fork.
 */
export function joinNewSessionKeyring(): void {
  const nr = SYS_KEYCTL[process.arch];
  if (nr === undefined) throw new Error(`mount-sandbox: keyctl: unsupported architecture ${process.arch}`);
  check(c.syscall(nr, 'int', KEYCTL_JOIN_SESSION_KEYRING, 'const char *', null), 'keyctl', ['KEYCTL_JOIN_SESSION_KEYRING', null]);
}

export function setNoNewPrivs(): void {
  check(c.prctl(PR_SET_NO_NEW_PRIVS, 'unsigned long', 1, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0), 'prctl', ['PR_SET_NO_NEW_PRIVS', 1]);
}

/**
 * Drops every capability of the calling thread but `keep`, for good: the
 * bounding set (so that no exec, not even of a uid-0 program, brings any
 * back), the ambient set, then effective, permitted and inheritable. What is
 * kept is raised in the ambient set too, so that it survives an exec of a
 * program that is not uid 0. Capabilities are per thread: threads that
 * already exist keep theirs, threads and processes made later from this one
 * start with what is left.
 */
export function dropCapabilitiesExcept(keep: readonly number[]): void {
  // The bounding set first: dropping from it needs CAP_SETPCAP, which capset below removes.
  for (let cap = 0; cap < 64; cap++) {
    if (keep.includes(cap)) continue;
    if (Number(c.prctl(PR_CAPBSET_DROP, 'unsigned long', cap, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0)) < 0) {
      const errno = koffi.errno();
      // EINVAL: past the kernel's last capability.
      if (errno === 22 && cap > 0) break;
      throw new SyscallError('prctl', ['PR_CAPBSET_DROP', cap], errno);
    }
  }
  check(c.prctl(PR_CAP_AMBIENT, 'unsigned long', PR_CAP_AMBIENT_CLEAR_ALL, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0), 'prctl', ['PR_CAP_AMBIENT', 'PR_CAP_AMBIENT_CLEAR_ALL']);
  const word = (high: boolean): { effective: number; permitted: number; inheritable: number } => {
    const bits = keep.filter((cap) => cap >= 32 === high).reduce((set, cap) => (set | (1 << (cap % 32))) >>> 0, 0);
    return { effective: bits, permitted: bits, inheritable: bits };
  };
  check(c.capset({ version: LINUX_CAPABILITY_VERSION_3, pid: 0 }, { low: word(false), high: word(true) }), 'capset', ['_LINUX_CAPABILITY_VERSION_3', 0, keep.length === 0 ? 'all empty' : `only ${keep.join(', ')}`]);
  for (const cap of keep) {
    check(c.prctl(PR_CAP_AMBIENT, 'unsigned long', PR_CAP_AMBIENT_RAISE, 'unsigned long', cap, 'unsigned long', 0, 'unsigned long', 0), 'prctl', ['PR_CAP_AMBIENT', 'PR_CAP_AMBIENT_RAISE', cap]);
  }
}

export function dropAllCapabilities(): void {
  dropCapabilitiesExcept([]);
}

/**
 * Installs a seccomp filter on every thread of the process at once
 * (SECCOMP_FILTER_FLAG_TSYNC); `program` is struct sock_filter[] as bytes.
 * Needs no_new_privs (or CAP_SYS_ADMIN) first.
 */
export function installSeccompFilter(program: Buffer): void {
  const nr = SYS_SECCOMP[process.arch];
  if (nr === undefined) throw new Error(`mount-sandbox: seccomp: unsupported architecture ${process.arch}`);
  const result = Number(c.seccompFilter(nr, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, { len: program.length / 8, filter: program }));
  if (result < 0) throw new SyscallError('seccomp', ['SECCOMP_SET_MODE_FILTER', 'SECCOMP_FILTER_FLAG_TSYNC', `${program.length / 8} instructions`], koffi.errno());
  // TSYNC returns the id of a thread it could not synchronize (one with a filter of its own).
  if (result > 0) throw new SyscallError('seccomp', ['SECCOMP_SET_MODE_FILTER', 'SECCOMP_FILTER_FLAG_TSYNC', `thread ${result} has another filter`], 16);
}

/** The calling thread's seccomp mode: 0 none, 2 filter. */
export function seccompMode(): number {
  return check(c.prctl(PR_GET_SECCOMP, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0, 'unsigned long', 0), 'prctl', ['PR_GET_SECCOMP']);
}

export function setParentDeathSignal(signal: number): void {
  check(c.prctl(PR_SET_PDEATHSIG, 'unsigned long', signal), 'prctl', ['PR_SET_PDEATHSIG', signal]);
}

export function setsid(): void {
  check(c.setsid(), 'setsid', []);
}

export function sethostname(name: string): void {
  check(c.sethostname(name, Buffer.byteLength(name)), 'sethostname', [name]);
}

/** Lets `fd` survive execve; Node opens even stdio with O_CLOEXEC. */
export function keepAcrossExec(fd: number): void {
  const flags = check(c.fcntl(fd, F_GETFD), 'fcntl', [fd, 'F_GETFD']);
  check(c.fcntl(fd, F_SETFD, 'int', flags & ~FD_CLOEXEC), 'fcntl', [fd, 'F_SETFD', 0]);
}

/** Whether `fd` closes on exec: Node and libuv open every descriptor of their own that way. */
export function isCloseOnExec(fd: number): boolean {
  return (check(c.fcntl(fd, F_GETFD), 'fcntl', [fd, 'F_GETFD']) & FD_CLOEXEC) !== 0;
}

export function closeOnExec(fd: number): void {
  const flags = check(c.fcntl(fd, F_GETFD), 'fcntl', [fd, 'F_GETFD']);
  check(c.fcntl(fd, F_SETFD, 'int', flags | FD_CLOEXEC), 'fcntl', [fd, 'F_SETFD', 'FD_CLOEXEC']);
}

/** libuv leaves pipes non-blocking; most programs expect blocking stdio. */
export function makeBlocking(fd: number): void {
  const flags = check(c.fcntl(fd, F_GETFL), 'fcntl', [fd, 'F_GETFL']);
  if (flags & O_NONBLOCK) check(c.fcntl(fd, F_SETFL, 'int', flags & ~O_NONBLOCK), 'fcntl', [fd, 'F_SETFL']);
}

export function close(fd: number): void {
  check(c.close(fd), 'close', [fd]);
}

/** Replaces this (multithreaded) process; only returns by throwing. */
export function execve(path: string, argv: readonly string[], env: readonly string[]): never {
  c.execve(path, [...argv, null], [...env, null]);
  throw new SyscallError('execve', [path, argv.join(' ')], koffi.errno());
}

const RLIMIT_NPROC = 6;

/** Caps the number of tasks (processes and threads) of this uid; inherited across fork and exec. */
export function limitProcesses(max: number): void {
  check(c.setrlimit(RLIMIT_NPROC, { cur: max, max }), 'setrlimit', ['RLIMIT_NPROC', max]);
}

const CLONE_NEWNET = 0x40000000;

/**
 * A new network namespace for the calling thread alone (a multithreaded
 * process moves only the caller), owned by this thread's user namespace.
 */
export function unshareNetwork(): void {
  check(c.unshare(CLONE_NEWNET), 'unshare', ['CLONE_NEWNET']);
}

export function bringUpLoopback(): void {
  const fd = check(c.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), 'socket', ['AF_INET', 'SOCK_DGRAM']);
  try {
    const req = { name: 'lo', flags: 0, pad: new Array<number>(22).fill(0) };
    check(c.ioctlIfreq(fd, SIOCGIFFLAGS, req), 'ioctl', ['lo', 'SIOCGIFFLAGS']);
    req.flags |= IFF_UP;
    check(c.ioctlIfreq(fd, SIOCSIFFLAGS, req), 'ioctl', ['lo', 'SIOCSIFFLAGS', 'IFF_UP']);
  } finally {
    c.close(fd);
  }
}

export interface Pty {
  /** The side the caller reads and writes; close-on-exec. */
  master: number;
  /** The terminal the command gets as stdio and controlling terminal. */
  slave: number;
  slavePath: string;
}

/** A fresh pseudo-terminal pair: a sandboxed command never gets the caller's own terminal. */
export function openPty(): Pty {
  const master = check(c.posixOpenpt(O_RDWR | O_NOCTTY | O_CLOEXEC), 'posix_openpt', ['O_RDWR|O_NOCTTY|O_CLOEXEC']);
  try {
    check(c.grantpt(master), 'grantpt', [master]);
    check(c.unlockpt(master), 'unlockpt', [master]);
    const name = Buffer.alloc(256);
    const rc = Number(c.ptsnameR(master, name, name.length));
    // ptsname_r returns the error number itself.
    if (rc !== 0) throw new SyscallError('ptsname_r', [master], rc);
    const slavePath = name.toString('utf8', 0, name.indexOf(0));
    return { master, slave: fs.openSync(slavePath, fs.constants.O_RDWR | fs.constants.O_NOCTTY), slavePath };
  } catch (error) {
    c.close(master);
    throw error;
  }
}

/** Makes the terminal on `fd` this session leader's controlling terminal. */
export function setControllingTerminal(fd: number): void {
  check(c.ioctlLong(fd, TIOCSCTTY, 0), 'ioctl', [fd, 'TIOCSCTTY', 0]);
}

export function setWindowSize(fd: number, rows: number, cols: number): void {
  check(c.ioctlWinsize(fd, TIOCSWINSZ, { rows, cols, xpixel: 0, ypixel: 0 }), 'ioctl', [fd, 'TIOCSWINSZ', `${rows}x${cols}`]);
}

const FLAG_NAMES: ReadonlyArray<[number, string]> = [
  [MS_RDONLY, 'MS_RDONLY'], [MS_NOSUID, 'MS_NOSUID'], [MS_NODEV, 'MS_NODEV'], [MS_NOEXEC, 'MS_NOEXEC'],
  [MS_REMOUNT, 'MS_REMOUNT'], [MS_NOATIME, 'MS_NOATIME'], [MS_NODIRATIME, 'MS_NODIRATIME'], [MS_BIND, 'MS_BIND'],
  [MS_REC, 'MS_REC'], [MS_PRIVATE, 'MS_PRIVATE'], [MS_SLAVE, 'MS_SLAVE'], [MS_RELATIME, 'MS_RELATIME'],
  [MS_STRICTATIME, 'MS_STRICTATIME'],
];

export function describeMountFlags(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  return names.length > 0 ? names.join('|') : '0';
}
