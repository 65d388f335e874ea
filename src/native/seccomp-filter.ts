// The sandbox's seccomp filters, as data: classic-BPF programs built here,
// and only here, from the tables below.
//
// The one-Node chain's: in that chain the mounts are not locked by a nested
// user namespace; Node's own platform threads, which exist before any of our
// code runs, keep the capabilities the process was born with. This filter,
// installed on every thread at once, is what keeps the mount table, the
// namespaces and the kernel's riskier interfaces out of reach of all of them
// and of every process they start.
//
// Both chains': no setuid or setgid bit may be set on a file. The sandbox's
// uid is the host user's (host root, as root), a writable bind is the host's
// own file system, and nosuid holds only inside: a setuid file left in a
// writable bind (the sandboxes' cache, a user's `writable: true` bind) would
// be a setuid-root program for every local user on the host. No capability
// is needed for it: the owner of a file may always chmod it 4755.
//
// As host root, both chains': no file capability may be written either (see
// CAPABILITY_XATTR_SIZES).
//
// Also both chains': no io_uring, perf_event_open or userfaultfd
// (DENIED_IN_INIT_CHAIN), and no personality that switches off ASLR or NX
// (PERSONALITIES_ALLOWED).
//
// Pure: no koffi, so that the unit test can run the program in its own
// evaluator. syscalls.ts passes the bytes to the kernel.

/** Which syscall table the program is built for (`uname -m`, or process.arch's names). */
export type SeccompArch = 'x86_64' | 'aarch64';

/** What the filter does with a call. */
export type SeccompAction =
  | { kind: 'allow' }
  | { kind: 'errno'; errno: number }
  | { kind: 'kill-process' };

// <linux/seccomp.h>
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

// <linux/audit.h>
export const AUDIT_ARCH: Record<SeccompArch, number> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };

/** x86_64's x32 ABI shares AUDIT_ARCH_X86_64 and sets this bit in the number: a second table the filter must not let through. */
export const X32_SYSCALL_BIT = 0x40000000;

const EPERM = 1;
const ENOSYS = 38;

// <linux/sched.h>. CLONE_NEWTIME shares its bit with clone()'s exit signal (CSIGNAL), so only unshare checks it.
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_NEWTIME = 0x00000080;
export const CLONE_NAMESPACE_FLAGS = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
export const UNSHARE_NAMESPACE_FLAGS = CLONE_NAMESPACE_FLAGS | CLONE_NEWTIME;

/** Calls refused outright with EPERM, and why. */
export const DENIED: ReadonlyArray<readonly [name: SyscallName, why: string]> = [
  ['mount', 'the mount table is fixed once the root is built'],
  ['umount2', 'the mount table is fixed once the root is built'],
  ['pivot_root', 'the root is fixed'],
  ['chroot', 'the root is fixed'],
  ['open_tree', 'the new mount API'],
  ['open_tree_attr', 'the new mount API'],
  ['move_mount', 'the new mount API'],
  ['fsopen', 'the new mount API'],
  ['fsconfig', 'the new mount API'],
  ['fsmount', 'the new mount API'],
  ['fspick', 'the new mount API'],
  ['mount_setattr', 'the new mount API'],
  ['setns', 'no entering another namespace'],
  ['open_by_handle_at', 'a forged handle opens any inode of a file system, hidden paths included'],
  ['io_uring_setup', 'io_uring runs work that seccomp never sees'],
  ['io_uring_enter', 'io_uring runs work that seccomp never sees'],
  ['io_uring_register', 'io_uring runs work that seccomp never sees'],
  ['keyctl', 'Node\'s platform threads still hold the host\'s session keyring'],
  ['add_key', 'Node\'s platform threads still hold the host\'s session keyring'],
  ['request_key', 'Node\'s platform threads still hold the host\'s session keyring'],
  ['bpf', 'kernel attack surface, and no use in a test'],
  ['perf_event_open', 'a large kernel attack surface with a long record of privilege escalations, and no use in a test'],
  ['userfaultfd', 'lets a process stall the kernel on a page fault of its own in the middle of a copy, the usual way to win a kernel race; no use in a test'],
];

/**
 * In the init chain's filter: io_uring opens files with a mode that seccomp
 * never sees (IORING_OP_OPENAT); perf_event_open and userfaultfd are the
 * same kernel attack surface there as in the one-Node chain, and no command
 * a test runs needs them. The rest of the denylist stays allowed: the
 * kernel locks that chain's mounts, and its commands may make namespaces of
 * their own.
 */
const IN_INIT_CHAIN = new Set<SyscallName>(['io_uring_setup', 'io_uring_enter', 'io_uring_register', 'perf_event_open', 'userfaultfd']);
export const DENIED_IN_INIT_CHAIN: ReadonlyArray<readonly [name: SyscallName, why: string]> = DENIED.filter(([name]) => IN_INIT_CHAIN.has(name));

/**
 * The personalities a process may set, in both chains, as in Docker's
 * default profile: Linux, PER_LINUX32, UNAME26, both, and 0xffffffff, which
 * only reads the current one. Every other flag only weakens the exploit
 * mitigations of what the sandbox runs next (ADDR_NO_RANDOMIZE turns ASLR
 * off, READ_IMPLIES_EXEC makes readable memory executable, MMAP_PAGE_ZERO
 * maps page 0); a debugger such as gdb warns and goes on without them.
 */
export const PERSONALITIES_ALLOWED: readonly number[] = [0x0, 0x0008, 0x0020000, 0x0020008, 0xffffffff];

/**
 * The network namespace of `network: 'none'` belongs to the user namespace
 * of the test's Node, in which Node's platform threads hold net_admin (see
 * SETUP_CAPABILITIES), and a socket's ioctls and options check the caller's
 * capabilities against the socket's namespace, not the caller's: a socket
 * the main thread opens, used from a hijacked platform thread, could set up
 * interfaces, routes and bridges, or load iptables rules (x_tables, a long
 * record of privilege escalations). Every such call needs net_admin, which
 * no thread that runs test code has, so refusing them takes nothing from a
 * test. Socket ioctls are 0x8900 to 0x89ff (<linux/sockios.h>); the ones
 * that only read (and the owner ones) stay allowed.
 */
export const SOCKET_IOCTL_RANGE = [0x8900, 0x8a00] as const;
export const SOCKET_IOCTLS_ALLOWED: readonly number[] = [
  0x8901, 0x8902, 0x8903, 0x8904, 0x8905, 0x8906, 0x8907, // FIOSETOWN, SIOCSPGRP, FIOGETOWN, SIOCGPGRP, SIOCATMARK, SIOCGSTAMP, SIOCGSTAMPNS
  0x8910, 0x8912, 0x8913, 0x8915, 0x8917, 0x8919, 0x891b, 0x891d, 0x891f, 0x8921, // SIOCGIFNAME, CONF, FLAGS, ADDR, DSTADDR, BRDADDR, NETMASK, METRIC, MEM, MTU
  0x8927, 0x8929, 0x8933, 0x8935, 0x8938, 0x8940, 0x8942, // SIOCGIFHWADDR, SLAVE, INDEX, PFLAGS, COUNT, SIOCGIFBR, SIOCGIFTXQLEN
  0x8947, 0x8948, 0x8954, 0x8961, 0x8970, 0x8982, 0x89b1, // SIOCGMIIPHY, SIOCGMIIREG, SIOCGARP, SIOCGRARP, SIOCGIFMAP, SIOCGIFVLAN, SIOCGHWTSTAMP
];
/** setsockopt's options that need net_admin, by level: [level, first, last]. */
export const NET_ADMIN_SOCKOPTS: ReadonlyArray<readonly [level: number, first: number, last: number]> = [
  [1, 36, 36], // SOL_SOCKET: SO_MARK
  [0, 16, 17], // SOL_IP: IP_IPSEC_POLICY, IP_XFRM_POLICY (xfrm policy parsing)
  [0, 19, 19], // IP_TRANSPARENT
  [0, 64, 65], // IPT_SO_SET_REPLACE, IPT_SO_SET_ADD_COUNTERS
  [0, 96, 97], // ARPT_SO_SET_*
  [0, 128, 129], // EBT_SO_SET_*
  [0, 1152, 1167], // IP_VS_SO_SET_*
  [41, 34, 35], // SOL_IPV6: IPV6_IPSEC_POLICY, IPV6_XFRM_POLICY
  [41, 64, 65], // IP6T_SO_SET_*
  [41, 75, 75], // IPV6_TRANSPARENT
  [6, 19, 19], // SOL_TCP: TCP_REPAIR
];
/** getsockopt's options that need net_admin: the x_tables and IPVS reads (which can also load modules). */
export const NET_ADMIN_GETSOCKOPTS: ReadonlyArray<readonly [level: number, first: number, last: number]> = [
  [0, 64, 69], // IPT_SO_GET_INFO, _ENTRIES, _REVISION_MATCH, _REVISION_TARGET
  [0, 96, 99], // ARPT_SO_GET_*
  [0, 128, 133], // EBT_SO_GET_*
  [0, 1152, 1160], // IP_VS_SO_GET_*
  [41, 64, 69], // IP6T_SO_GET_*
];

export type SyscallName =
  | 'mount' | 'umount2' | 'pivot_root' | 'chroot' | 'open_tree' | 'open_tree_attr' | 'move_mount' | 'fsopen' | 'fsconfig'
  | 'fsmount' | 'fspick' | 'mount_setattr' | 'setns' | 'open_by_handle_at' | 'unshare' | 'clone' | 'clone3' | 'io_uring_setup' | 'io_uring_enter'
  | 'io_uring_register' | 'keyctl' | 'add_key' | 'request_key' | 'bpf' | 'perf_event_open' | 'userfaultfd' | 'personality' | 'openat2'
  | 'ioctl' | 'setsockopt' | 'getsockopt'
  | XattrWriteName | ModeCallName;

/** The calls that write an extended attribute from a value and its size (arguments 2 and 3). */
export type XattrWriteName = 'setxattr' | 'lsetxattr' | 'fsetxattr';
export const XATTR_WRITES: readonly XattrWriteName[] = ['setxattr', 'lsetxattr', 'fsetxattr'];
/** setxattrat (Linux 6.13) passes the value's size in a struct the filter cannot read. */
const SETXATTRAT = 463;

/**
 * Every size a `security.capability` value can have (struct
 * vfs_cap_data v1 and v2, vfs_ns_cap_data v3): the kernel refuses a value of
 * any other size for it. As host root, a process that holds CAP_SETFCAP in a
 * user namespace whose uid 0 is host root can write one on a file in a
 * writable bind, and on the host that file then grants its capabilities to
 * whoever runs it. In the init chain, before Linux 5.12, a command gets it
 * in a user namespace it makes itself, whose uid 0 the kernel then lets it
 * map to host root without CAP_SETFCAP. In the one-Node chain Node's
 * platform threads held it until Node was born without it
 * (SETUP_CAPABILITIES): this rule is the second wall there. Seccomp
 * cannot read the attribute's name, so an attribute of one of these sizes is
 * refused whatever its name; with any other size no capability can be
 * written.
 */
export const CAPABILITY_XATTR_SIZES: readonly number[] = [12, 20, 24];

/** The calls that set a file's mode bits from an argument. mkdir(at) is not one: the kernel keeps only rwx and the sticky bit of its mode. */
export type ModeCallName = 'chmod' | 'fchmod' | 'fchmodat' | 'fchmodat2' | 'open' | 'creat' | 'openat' | 'mknod' | 'mknodat';

/** A mode call: which argument holds the mode and, for the opens, which the flags, without O_CREAT or O_TMPFILE in which the mode is ignored. */
export interface ModeCall {
  name: ModeCallName;
  modeArg: number;
  flagsArg?: number;
}

/** S_ISUID | S_ISGID, <linux/stat.h>. */
export const SETID_BITS = 0o6000;
/** O_CREAT | __O_TMPFILE, the same on x86_64 and arm64 (<asm-generic/fcntl.h>): the flags with which open uses its mode. */
export const OPEN_MODE_FLAGS = 0o100 | 0o20000000;

/**
 * Per table, since arm64 has only the *at calls (and fchmod). Refused with
 * EPERM when the mode has S_ISUID or S_ISGID, whatever the file (a setgid
 * directory too: seccomp cannot tell a directory from a file by its path).
 */
export const MODE_CALLS: Record<SeccompArch, readonly ModeCall[]> = {
  x86_64: [
    { name: 'chmod', modeArg: 1 }, { name: 'fchmod', modeArg: 1 }, { name: 'fchmodat', modeArg: 2 }, { name: 'fchmodat2', modeArg: 2 },
    { name: 'open', flagsArg: 1, modeArg: 2 }, { name: 'creat', modeArg: 1 }, { name: 'openat', flagsArg: 2, modeArg: 3 },
    { name: 'mknod', modeArg: 1 }, { name: 'mknodat', modeArg: 2 },
  ],
  aarch64: [
    { name: 'fchmod', modeArg: 1 }, { name: 'fchmodat', modeArg: 2 }, { name: 'fchmodat2', modeArg: 2 },
    { name: 'openat', flagsArg: 2, modeArg: 3 }, { name: 'mknodat', modeArg: 2 },
  ],
};

/**
 * From the kernel's arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h.
 * arm64 has no chmod, open, creat nor mknod: -1, a number no call has, so that no rule can match it.
 */
export const SYSCALL_NUMBERS: Record<SeccompArch, Record<SyscallName, number>> = {
  x86_64: {
    chmod: 90, fchmod: 91, fchmodat: 268, fchmodat2: 452, open: 2, creat: 85, openat: 257, openat2: 437, mknod: 133, mknodat: 259,
    setxattr: 188, lsetxattr: 189, fsetxattr: 190,
    mount: 165, umount2: 166, pivot_root: 155, chroot: 161, setns: 308, open_by_handle_at: 304, unshare: 272, clone: 56, clone3: 435,
    keyctl: 250, add_key: 248, request_key: 249, bpf: 321, perf_event_open: 298, userfaultfd: 323, personality: 135, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442, open_tree_attr: 467,
    ioctl: 16, setsockopt: 54, getsockopt: 55,
  },
  aarch64: {
    chmod: -1, fchmod: 52, fchmodat: 53, fchmodat2: 452, open: -1, creat: -1, openat: 56, openat2: 437, mknod: -1, mknodat: 33,
    setxattr: 5, lsetxattr: 6, fsetxattr: 7,
    mount: 40, umount2: 39, pivot_root: 41, chroot: 51, setns: 268, open_by_handle_at: 265, unshare: 97, clone: 220, clone3: 435,
    keyctl: 219, add_key: 217, request_key: 218, bpf: 280, perf_event_open: 241, userfaultfd: 282, personality: 92, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
    open_tree: 428, move_mount: 429, fsopen: 430, fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442, open_tree_attr: 467,
    ioctl: 29, setsockopt: 208, getsockopt: 209,
  },
};

/** The arch names of process.arch, for the architectures the filter knows. */
export function seccompArchOf(nodeArch: string): SeccompArch | undefined {
  return nodeArch === 'x64' ? 'x86_64' : nodeArch === 'arm64' ? 'aarch64' : undefined;
}

// <linux/filter.h>, <linux/bpf_common.h>
const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JGE_K = 0x35;
const BPF_JMP_JSET_K = 0x45;
const BPF_RET_K = 0x06;

/** struct seccomp_data: nr at 0, arch at 4, args[6] (u64 each) from 16; the low half of args[0] comes first on little-endian. */
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const OFFSET_ARG0_LOW = 16;

/** One sock_filter instruction. */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

type Label = string;
type Jump = number | Label;
/** An instruction whose jumps may still name labels; `label` marks the instruction itself. */
interface Draft {
  code: number;
  jt: Jump;
  jf: Jump;
  k: number;
  label?: Label;
}

/** Resolves label jumps into the relative offsets classic BPF wants (forward only, at most 255). */
function assemble(drafts: readonly Draft[]): BpfInstruction[] {
  const at = new Map<Label, number>();
  drafts.forEach((draft, index) => {
    if (draft.label !== undefined) at.set(draft.label, index);
  });
  const offset = (from: number, jump: Jump): number => {
    if (typeof jump === 'number') return jump;
    const target = at.get(jump);
    if (target === undefined) throw new Error(`seccomp filter: no label ${jump}`);
    const distance = target - from - 1;
    if (distance < 0 || distance > 255) throw new Error(`seccomp filter: jump to ${jump} out of range (${distance})`);
    return distance;
  };
  return drafts.map((draft, index) => ({ code: draft.code, jt: offset(index, draft.jt), jf: offset(index, draft.jf), k: draft.k >>> 0 }));
}

const load = (offset: number): Draft => ({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: offset });
const ifEqual = (k: number, then: Jump, otherwise: Jump = 0): Draft => ({ code: BPF_JMP_JEQ_K, jt: then, jf: otherwise, k });
const ret = (k: number, label?: Label): Draft => ({ code: BPF_RET_K, jt: 0, jf: 0, k, ...(label !== undefined ? { label } : {}) });

/** The low half of args[i]: every flag and mode the filter reads fits in it. */
const argLow = (i: number): number => OFFSET_ARG0_LOW + i * 8;

/** What a filter refuses, beyond the checks of the architecture and of the mode calls that every filter has. */
interface Policy {
  denied: ReadonlyArray<readonly [name: SyscallName, why: string]>;
  /** clone and unshare with a namespace flag get EPERM, clone3 ENOSYS. */
  namespaces: boolean;
  /** An extended attribute of a size a file capability can have gets EPERM, setxattrat ENOSYS. */
  capabilityXattrs: boolean;
  /** Socket ioctls and options that need net_admin get EPERM (SOCKET_IOCTLS_ALLOWED, NET_ADMIN_SOCKOPTS, NET_ADMIN_GETSOCKOPTS). */
  netAdmin: boolean;
}

/**
 * The program, in order: a call from another architecture (or x86_64's x32
 * table) kills the process, since its numbers would mean other calls; the
 * denylist gets EPERM; with `namespaces`, clone and unshare get EPERM only
 * when they carry a namespace flag (threads and plain forks must go on
 * working), and clone3 gets ENOSYS, because its flags sit in a struct the
 * filter cannot read, and glibc then falls back to clone, which the filter
 * can check; with `capabilityXattrs`, an xattr write of a size a file
 * capability can have gets EPERM, and setxattrat ENOSYS (its size sits in a
 * struct); a mode call whose mode has S_ISUID or S_ISGID gets EPERM (an
 * open only with O_CREAT or O_TMPFILE, without which the kernel ignores the
 * mode); openat2 gets ENOSYS, for the same reason as clone3: its mode sits
 * in a struct, and libc's open never uses it; personality gets EPERM for
 * any persona but PERSONALITIES_ALLOWED. All else is allowed.
 */
function build(arch: SeccompArch, policy: Policy): BpfInstruction[] {
  const nr = SYSCALL_NUMBERS[arch];
  const modeCalls = MODE_CALLS[arch];
  const missing = modeCalls.filter((call) => nr[call.name] < 0).map((call) => call.name);
  if (missing.length > 0) throw new Error(`seccomp filter: ${arch} has no ${missing.join(', ')}, yet MODE_CALLS lists them`);
  const drafts: Draft[] = [
    load(OFFSET_ARCH),
    ifEqual(AUDIT_ARCH[arch], 0, 'kill'),
    load(OFFSET_NR),
    ...(arch === 'x86_64' ? [{ code: BPF_JMP_JGE_K, jt: 'kill', jf: 0, k: X32_SYSCALL_BIT } satisfies Draft] : []),
    ...policy.denied.map(([name]) => ifEqual(nr[name], 'eperm')),
    ...(policy.namespaces ? [ifEqual(nr.clone3, 'enosys'), ifEqual(nr.clone, 'clone-flags'), ifEqual(nr.unshare, 'unshare-flags')] : []),
    ...(policy.capabilityXattrs ? [...XATTR_WRITES.map((name) => ifEqual(nr[name], 'xattr-size')), ifEqual(SETXATTRAT, 'enosys')] : []),
    ...(policy.netAdmin ? [ifEqual(nr.ioctl, 'ioctl-request'), ifEqual(nr.setsockopt, 'set-sockopt-level'), ifEqual(nr.getsockopt, 'get-sockopt-level')] : []),
    ...modeCalls.map((call) => ifEqual(nr[call.name], call.flagsArg !== undefined ? `${call.name}-flags` : `${call.name}-mode`)),
    ifEqual(nr.openat2, 'enosys'),
    ifEqual(nr.personality, 'personality'),
    ret(SECCOMP_RET_ALLOW),
    ...(policy.namespaces
      ? [
        { ...load(argLow(0)), label: 'clone-flags' },
        { code: BPF_JMP_JSET_K, jt: 'eperm', jf: 'allow', k: CLONE_NAMESPACE_FLAGS },
        { ...load(argLow(0)), label: 'unshare-flags' },
        { code: BPF_JMP_JSET_K, jt: 'eperm', jf: 'allow', k: UNSHARE_NAMESPACE_FLAGS },
      ]
      : []),
    ...(policy.capabilityXattrs
      ? [
        // The size is a size_t: a high half set makes the kernel refuse it (E2BIG) before it reads the name.
        { ...load(argLow(3)), label: 'xattr-size' },
        ...CAPABILITY_XATTR_SIZES.map((size) => ifEqual(size, 'eperm')),
        ret(SECCOMP_RET_ALLOW),
      ]
      : []),
    ...(policy.netAdmin ? netAdminRules() : []),
    ...modeCalls.flatMap((call): Draft[] => [
      ...(call.flagsArg !== undefined
        ? [
          { ...load(argLow(call.flagsArg)), label: `${call.name}-flags` },
          { code: BPF_JMP_JSET_K, jt: 0, jf: 'allow', k: OPEN_MODE_FLAGS },
          load(argLow(call.modeArg)),
        ]
        : [{ ...load(argLow(call.modeArg)), label: `${call.name}-mode` }]),
      { code: BPF_JMP_JSET_K, jt: 'eperm', jf: 'allow', k: SETID_BITS },
    ]),
    // The persona is an unsigned int: the kernel reads the low half only.
    { ...load(argLow(0)), label: 'personality' },
    ...PERSONALITIES_ALLOWED.map((persona) => ifEqual(persona, 'allow')),
    ret(SECCOMP_RET_ERRNO | EPERM),
    ret(SECCOMP_RET_ALLOW, 'allow'),
    ret(SECCOMP_RET_ERRNO | EPERM, 'eperm'),
    ret(SECCOMP_RET_ERRNO | ENOSYS, 'enosys'),
    ret(SECCOMP_RET_KILL_PROCESS, 'kill'),
  ];
  return assemble(drafts);
}

/** The ioctl request and the sockopt level and option are ints: the kernel reads the low half only. */
function netAdminRules(): Draft[] {
  return [
    { ...load(argLow(1)), label: 'ioctl-request' },
    { code: BPF_JMP_JGE_K, jt: 0, jf: 'allow', k: SOCKET_IOCTL_RANGE[0] },
    { code: BPF_JMP_JGE_K, jt: 'allow', jf: 0, k: SOCKET_IOCTL_RANGE[1] },
    ...SOCKET_IOCTLS_ALLOWED.map((request) => ifEqual(request, 'allow')),
    ret(SECCOMP_RET_ERRNO | EPERM),
    ...sockoptRules('set', NET_ADMIN_SOCKOPTS),
    ...sockoptRules('get', NET_ADMIN_GETSOCKOPTS),
  ];
}

/** `<kind>-sockopt-level`: by level (argument 1), then EPERM for an option (argument 2) in one of that level's ranges. */
function sockoptRules(kind: string, table: ReadonlyArray<readonly [level: number, first: number, last: number]>): Draft[] {
  const levels = [...new Set(table.map(([level]) => level))];
  return [
    { ...load(argLow(1)), label: `${kind}-sockopt-level` },
    ...levels.map((level) => ifEqual(level, `${kind}-sockopt-${level}`)),
    ret(SECCOMP_RET_ALLOW),
    ...levels.flatMap((level): Draft[] => [
      { ...load(argLow(2)), label: `${kind}-sockopt-${level}` },
      ...table.filter(([at]) => at === level).flatMap(([, first, last]): Draft[] => [
        // first <= option <= last: jump past this range's EPERM unless both hold.
        { code: BPF_JMP_JGE_K, jt: 0, jf: 2, k: first },
        { code: BPF_JMP_JGE_K, jt: 1, jf: 0, k: last + 1 },
        ret(SECCOMP_RET_ERRNO | EPERM),
      ]),
      ret(SECCOMP_RET_ALLOW),
    ]),
  ];
}

export interface FilterOptions {
  /** The uid Jest runs as on the host: as root (0), no file capability may be written (CAPABILITY_XATTR_SIZES). */
  hostUid: number;
}

/** The one-Node chain's filter: the whole denylist, the namespace, net_admin and mode rules. */
export function buildSeccompProgram(arch: SeccompArch, options: FilterOptions): BpfInstruction[] {
  return build(arch, { denied: DENIED, namespaces: true, capabilityXattrs: options.hostUid === 0, netAdmin: true });
}

/**
 * The init chain's filter, installed before the command is exec'd: the mode
 * and personality rules, and DENIED_IN_INIT_CHAIN. Its mounts are locked by
 * the kernel, and its commands may make namespaces of their own.
 */
export function buildInitSeccompProgram(arch: SeccompArch, options: FilterOptions): BpfInstruction[] {
  return build(arch, { denied: DENIED_IN_INIT_CHAIN, namespaces: false, capabilityXattrs: options.hostUid === 0, netAdmin: false });
}

/** struct sock_filter[] as the kernel reads it: u16 code, u8 jt, u8 jf, u32 k, in this machine's byte order. */
export function encodeProgram(program: readonly BpfInstruction[]): Buffer {
  const bytes = Buffer.alloc(program.length * 8);
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  program.forEach((insn, i) => {
    if (little) {
      bytes.writeUInt16LE(insn.code, i * 8);
      bytes.writeUInt32LE(insn.k, i * 8 + 4);
    } else {
      bytes.writeUInt16BE(insn.code, i * 8);
      bytes.writeUInt32BE(insn.k, i * 8 + 4);
    }
    bytes.writeUInt8(insn.jt, i * 8 + 2);
    bytes.writeUInt8(insn.jf, i * 8 + 3);
  });
  return bytes;
}

/** What a SECCOMP_RET_* value means. */
export function decodeAction(value: number): SeccompAction {
  const action = value >>> 0;
  if (action === SECCOMP_RET_ALLOW) return { kind: 'allow' };
  if ((action & 0xffff0000) >>> 0 === SECCOMP_RET_ERRNO) return { kind: 'errno', errno: action & SECCOMP_RET_DATA };
  return { kind: 'kill-process' };
}
