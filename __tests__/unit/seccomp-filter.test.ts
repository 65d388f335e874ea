// The sandbox's seccomp filters (the one-Node chain's, and the init chain's
// setuid/setgid rules), run in a small classic-BPF evaluator
// written here from the kernel's semantics (net/core/filter.c, the subset
// seccomp accepts). This is the one place where the kernel is stood in for:
// the e2e and security tests run the same program in the real one.
import {
  AUDIT_ARCH, buildInitSeccompProgram, buildSeccompProgram, CAPABILITY_XATTR_SIZES, CLONE_NAMESPACE_FLAGS, decodeAction, DENIED, encodeProgram, MODE_CALLS,
  PERSONALITIES_ALLOWED, SOCKET_IOCTLS_ALLOWED, SYSCALL_NUMBERS, X32_SYSCALL_BIT, XATTR_WRITES, type BpfInstruction, type FilterOptions, type SeccompAction, type SeccompArch, type SyscallName,
} from '../../src/native/seccomp-filter';

interface SeccompData {
  nr: number;
  arch: number;
  args?: readonly bigint[];
}

/** struct seccomp_data, little-endian, as the kernel hands it to the filter. */
function seccompData({ nr, arch, args = [] }: SeccompData): Buffer {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  data.writeBigUInt64LE(0x7fff12345678n, 8);
  for (let i = 0; i < 6; i++) data.writeBigUInt64LE(args[i] ?? 0n, 16 + i * 8);
  return data;
}

/** Runs a program to its return value; throws on anything seccomp's checker would have refused. */
function run(program: readonly BpfInstruction[], input: Buffer): number {
  let a = 0;
  for (let pc = 0, steps = 0; steps < 4096; steps++) {
    const insn = program[pc];
    if (insn === undefined) throw new Error(`fell off the program at ${pc}`);
    const { code, jt, jf, k } = insn;
    switch (code) {
      case 0x20: // BPF_LD | BPF_W | BPF_ABS
        if (k % 4 !== 0 || k + 4 > input.length) throw new Error(`bad load offset ${k}`);
        a = input.readUInt32LE(k);
        pc += 1;
        break;
      case 0x15: // BPF_JMP | BPF_JEQ | BPF_K
        pc += 1 + (a === k ? jt : jf);
        break;
      case 0x35: // BPF_JMP | BPF_JGE | BPF_K
        pc += 1 + (a >= k ? jt : jf);
        break;
      case 0x45: // BPF_JMP | BPF_JSET | BPF_K
        pc += 1 + ((a & k) !== 0 ? jt : jf);
        break;
      case 0x06: // BPF_RET | BPF_K
        return k;
      default:
        throw new Error(`instruction ${code.toString(16)} at ${pc} is not one this evaluator (or this filter) uses`);
    }
  }
  throw new Error('no return within 4096 steps');
}

type Build = (arch: SeccompArch, options: FilterOptions) => BpfInstruction[];

/** The filter's decision; for Jest run as host root unless `hostUid` says otherwise (root's program has every rule). */
function decide(arch: SeccompArch, call: SyscallName | number, options: { arch?: number; args?: readonly bigint[]; build?: Build; hostUid?: number } = {}): SeccompAction {
  const nr = typeof call === 'number' ? call : SYSCALL_NUMBERS[arch][call];
  const build = options.build ?? buildSeccompProgram;
  return decodeAction(run(build(arch, { hostUid: options.hostUid ?? 0 }), seccompData({ nr, arch: options.arch ?? AUDIT_ARCH[arch], args: options.args ?? [] })));
}

const EPERM = { kind: 'errno', errno: 1 };
const ENOSYS = { kind: 'errno', errno: 38 };
const ALLOW = { kind: 'allow' };
const KILL = { kind: 'kill-process' };

// Numbers the filter must let through, per table: read, write, openat, mmap, futex, exit_group, ptrace, execve, wait4, fork/vfork on x86_64.
const ORDINARY: Record<SeccompArch, number[]> = {
  x86_64: [0, 1, 257, 9, 202, 231, 101, 59, 61, 57, 58],
  aarch64: [63, 64, 56, 222, 98, 94, 117, 221, 260],
};

const SIGCHLD = 17n;
const CLONE_VM_THREAD = 0x00000100n | 0x00000800n | 0x00010000n | 0x00000200n | 0x00000400n; // VM|SIGHAND|THREAD|FS|FILES
const NAMESPACES: Array<[string, bigint]> = [
  ['CLONE_NEWNS', 0x00020000n], ['CLONE_NEWCGROUP', 0x02000000n], ['CLONE_NEWUTS', 0x04000000n], ['CLONE_NEWIPC', 0x08000000n],
  ['CLONE_NEWUSER', 0x10000000n], ['CLONE_NEWPID', 0x20000000n], ['CLONE_NEWNET', 0x40000000n],
];

describe.each<SeccompArch>(['x86_64', 'aarch64'])('the seccomp filter on %s', (arch) => {
  test.each(DENIED.map(([name]) => name))('%s gets EPERM', (name) => {
    expect(decide(arch, name)).toEqual(EPERM);
  });

  test('the whole mount API is on the denylist', () => {
    expect(DENIED.map(([name]) => name)).toEqual(expect.arrayContaining([
      'mount', 'umount2', 'pivot_root', 'chroot', 'move_mount', 'open_tree', 'open_tree_attr', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr', 'setns',
    ]));
  });

  test('clone3 gets ENOSYS, so that libc falls back to clone, whose flags the filter can read', () => {
    expect(decide(arch, 'clone3')).toEqual(ENOSYS);
  });

  test.each(ORDINARY[arch])('ordinary call %i is allowed', (nr) => {
    expect(decide(arch, nr)).toEqual(ALLOW);
  });

  test('clone for a thread or a fork is allowed', () => {
    expect(decide(arch, 'clone', { args: [CLONE_VM_THREAD] })).toEqual(ALLOW);
    expect(decide(arch, 'clone', { args: [SIGCHLD] })).toEqual(ALLOW);
    // CLONE_NEWTIME's bit is clone()'s exit-signal field: a child that reports with signal 0x80 | n is not a namespace.
    expect(decide(arch, 'clone', { args: [0x80n | SIGCHLD] })).toEqual(ALLOW);
  });

  test.each(NAMESPACES)('clone with %s gets EPERM, alone or among other flags', (_name, flag) => {
    expect(decide(arch, 'clone', { args: [flag] })).toEqual(EPERM);
    expect(decide(arch, 'clone', { args: [flag | SIGCHLD | CLONE_VM_THREAD] })).toEqual(EPERM);
  });

  test.each([...NAMESPACES, ['CLONE_NEWTIME', 0x80n] as [string, bigint]])('unshare with %s gets EPERM', (_name, flag) => {
    expect(decide(arch, 'unshare', { args: [flag] })).toEqual(EPERM);
  });

  test('unshare without a namespace flag (CLONE_FILES, CLONE_FS) is allowed', () => {
    expect(decide(arch, 'unshare', { args: [0x400n] })).toEqual(ALLOW);
    expect(decide(arch, 'unshare', { args: [0x200n] })).toEqual(ALLOW);
  });

  test('only the low half of the flags counts, as in the kernel', () => {
    expect(decide(arch, 'clone', { args: [(1n << 40n) | SIGCHLD] })).toEqual(ALLOW);
    expect(decide(arch, 'clone', { args: [(1n << 40n) | 0x10000000n] })).toEqual(EPERM);
  });

  test('a call from another architecture kills the process, whatever its number', () => {
    const others = Object.values(AUDIT_ARCH).filter((value) => value !== AUDIT_ARCH[arch]);
    for (const other of [...others, 0x40000003 /* i386 */, 0x40000028 /* arm */]) {
      expect(decide(arch, 0, { arch: other })).toEqual(KILL);
      expect(decide(arch, 'mount', { arch: other })).toEqual(KILL);
    }
  });

  test('the program is what the kernel takes: at most 4096 instructions, every jump forward and in range', () => {
    const program = buildSeccompProgram(arch, { hostUid: 0 });
    expect(program.length).toBeLessThan(4096);
    expect(program.length).toBeGreaterThan(DENIED.length);
    program.forEach((insn, pc) => {
      if ((insn.code & 0x07) !== 0x05) return; // only BPF_JMP has targets
      expect(pc + 1 + insn.jt).toBeLessThan(program.length);
      expect(pc + 1 + insn.jf).toBeLessThan(program.length);
    });
    expect(program[program.length - 1].code).toBe(0x06);
  });

  test('the encoding is struct sock_filter: 8 bytes each, code, jt, jf, k', () => {
    const program = buildSeccompProgram(arch, { hostUid: 0 });
    const bytes = encodeProgram(program);
    expect(bytes.length).toBe(program.length * 8);
    expect(bytes.readUInt16LE(8)).toBe(program[1].code);
    expect(bytes.readUInt8(10)).toBe(program[1].jt);
    expect(bytes.readUInt8(11)).toBe(program[1].jf);
    expect(bytes.readUInt32LE(12)).toBe(program[1].k);
  });
});

test('on x86_64, the x32 table (same arch value, bit 30 set in the number) kills the process', () => {
  expect(decide('x86_64', X32_SYSCALL_BIT | 165)).toEqual(KILL);
  expect(decide('x86_64', X32_SYSCALL_BIT | 0)).toEqual(KILL);
});

test('the numbers differ between the tables, so a filter for one architecture would misread the other', () => {
  expect(SYSCALL_NUMBERS.x86_64.mount).not.toBe(SYSCALL_NUMBERS.aarch64.mount);
  expect(decide('aarch64', SYSCALL_NUMBERS.x86_64.mount)).toEqual(ALLOW);
  expect(CLONE_NAMESPACE_FLAGS & 0xff).toBe(0);
});

// The setuid/setgid rules, in both chains' filters. Modes and flags as the kernel reads them: <linux/stat.h>, <asm-generic/fcntl.h>.
const S_IFREG = 0o100000n;
const O_WRONLY = 0o1n;
const O_CREAT = 0o100n;
const O_TMPFILE = 0o20000000n | 0o200000n; // with x86_64's O_DIRECTORY, as glibc passes it
const AT_FDCWD = BigInt.asUintN(64, -100n);

/** The arguments of a mode call, with `mode` where the call takes it, and `flags` for the opens. */
function modeArgs(arch: SeccompArch, name: string, mode: bigint, flags = O_WRONLY | O_CREAT): bigint[] {
  const call = MODE_CALLS[arch].find((c) => c.name === name);
  if (call === undefined) throw new Error(`${name} is not a mode call on ${arch}`);
  const args: bigint[] = [AT_FDCWD, 0x7fff0000n, 0n, 0n, 0n, 0n];
  args[call.modeArg] = name.startsWith('mknod') ? S_IFREG | mode : mode;
  if (call.flagsArg !== undefined) args[call.flagsArg] = flags;
  return args;
}

const FILTERS: Array<[string, Build]> = [['one-Node chain', buildSeccompProgram], ['init chain', buildInitSeccompProgram]];

describe.each(FILTERS)('the %s filter: no setuid or setgid file', (_chain, build) => {
  describe.each<SeccompArch>(['x86_64', 'aarch64'])('on %s', (arch) => {
    const calls = MODE_CALLS[arch].map((call) => call.name);

    test.each(calls)('%s with S_ISUID, S_ISGID or both in the mode gets EPERM', (name) => {
      for (const mode of [0o4755n, 0o2755n, 0o6755n, 0o4000n, 0o2000n, 0o7777n]) {
        expect([mode.toString(8), decide(arch, name, { build, args: modeArgs(arch, name, mode) })]).toEqual([mode.toString(8), EPERM]);
      }
    });

    test.each(calls)('%s with an ordinary mode (and the sticky bit) is allowed', (name) => {
      for (const mode of [0o755n, 0o644n, 0o600n, 0o777n, 0o1777n, 0n]) {
        expect([mode.toString(8), decide(arch, name, { build, args: modeArgs(arch, name, mode) })]).toEqual([mode.toString(8), ALLOW]);
      }
    });

    test('the mode is read from its own argument: a set-id bit elsewhere (a path pointer, a dirfd) does not count', () => {
      for (const name of calls) {
        const args = modeArgs(arch, name, 0o644n).map((arg, i) => (i === MODE_CALLS[arch].find((c) => c.name === name)?.modeArg ? arg : arg | 0o6000n));
        expect([name, decide(arch, name, { build, args })]).toEqual([name, ALLOW]);
      }
    });

    test('openat with O_CREAT or O_TMPFILE and a set-id mode gets EPERM; without them the kernel ignores the mode, and so does the filter', () => {
      expect(decide(arch, 'openat', { build, args: modeArgs(arch, 'openat', 0o4755n, O_WRONLY | O_CREAT) })).toEqual(EPERM);
      expect(decide(arch, 'openat', { build, args: modeArgs(arch, 'openat', 0o2755n, O_WRONLY | O_TMPFILE) })).toEqual(EPERM);
      expect(decide(arch, 'openat', { build, args: modeArgs(arch, 'openat', 0o4755n, 0n) })).toEqual(ALLOW);
      expect(decide(arch, 'openat', { build, args: modeArgs(arch, 'openat', 0o6755n, O_WRONLY) })).toEqual(ALLOW);
    });

    test('only the low half of the mode counts, as in the kernel (umode_t)', () => {
      expect(decide(arch, 'fchmod', { build, args: [3n, (1n << 40n) | 0o755n] })).toEqual(ALLOW);
      expect(decide(arch, 'fchmod', { build, args: [3n, (1n << 40n) | 0o4755n] })).toEqual(EPERM);
    });

    test('openat2, whose mode sits in a struct the filter cannot read, gets ENOSYS, so that a caller falls back to openat', () => {
      expect(decide(arch, 'openat2', { build })).toEqual(ENOSYS);
    });

    test('mkdirat is allowed whatever its mode: the kernel keeps only rwx and the sticky bit of it', () => {
      const mkdirat = arch === 'x86_64' ? 258 : 34;
      expect(decide(arch, mkdirat, { build, args: [AT_FDCWD, 0x7fff0000n, 0o6755n] })).toEqual(ALLOW);
    });

    test('a call from another architecture still kills the process, so that its own chmod cannot go round the rules', () => {
      const i386Chmod = 15;
      expect(decide(arch, i386Chmod, { build, arch: 0x40000003, args: [0x7fff0000n, 0o4755n] })).toEqual(KILL);
      if (arch === 'x86_64') expect(decide(arch, X32_SYSCALL_BIT | 90, { build, args: [0x7fff0000n, 0o4755n] })).toEqual(KILL);
    });
  });

  test('the table has every call that sets a mode: chmod, fchmod, fchmodat, fchmodat2, open, creat, openat, mknod, mknodat on x86_64; only the *at calls and fchmod on arm64', () => {
    expect(MODE_CALLS.x86_64.map((c) => c.name).sort()).toEqual(['chmod', 'creat', 'fchmod', 'fchmodat', 'fchmodat2', 'mknod', 'mknodat', 'open', 'openat']);
    expect(MODE_CALLS.aarch64.map((c) => c.name).sort()).toEqual(['fchmod', 'fchmodat', 'fchmodat2', 'mknodat', 'openat']);
    expect([SYSCALL_NUMBERS.x86_64.fchmodat2, SYSCALL_NUMBERS.aarch64.fchmodat2, SYSCALL_NUMBERS.x86_64.chmod, SYSCALL_NUMBERS.aarch64.fchmodat]).toEqual([452, 452, 90, 53]);
  });
});

describe.each<SeccompArch>(['x86_64', 'aarch64'])('the init chain filter on %s', (arch) => {
  const build = buildInitSeccompProgram;

  test('only io_uring, perf_event_open and userfaultfd of the denylist: the mounts are the kernel\'s to lock there, and its commands may make namespaces', () => {
    for (const name of ['io_uring_setup', 'io_uring_enter', 'io_uring_register'] as const) expect([name, decide(arch, name, { build })]).toEqual([name, EPERM]);
    for (const name of ['perf_event_open', 'userfaultfd'] as const) expect([name, decide(arch, name, { build })]).toEqual([name, EPERM]);
    for (const name of ['mount', 'umount2', 'pivot_root', 'setns', 'keyctl', 'bpf'] as const) expect([name, decide(arch, name, { build })]).toEqual([name, ALLOW]);
    expect(decide(arch, 'unshare', { build, args: [0x10000000n | 0x00020000n] })).toEqual(ALLOW);
    expect(decide(arch, 'clone', { build, args: [0x10000000n | SIGCHLD] })).toEqual(ALLOW);
    expect(decide(arch, 'clone3', { build })).toEqual(ALLOW);
  });

  test.each(ORDINARY[arch])('ordinary call %i is allowed', (nr) => {
    expect(decide(arch, nr, { build })).toEqual(ALLOW);
  });

  test('the program is what the kernel takes: every jump forward and in range, a return last', () => {
    const program = build(arch, { hostUid: 0 });
    program.forEach((insn, pc) => {
      if ((insn.code & 0x07) !== 0x05) return;
      expect(pc + 1 + insn.jt).toBeLessThan(program.length);
      expect(pc + 1 + insn.jf).toBeLessThan(program.length);
    });
    expect(program[program.length - 1].code).toBe(0x06);
  });
});

// As host root, no file capability: an extended attribute of a size that security.capability can have is refused.
const XATTRAT = 463;

describe.each(FILTERS)('the %s filter: no file capability as host root', (_chain, build) => {
  describe.each<SeccompArch>(['x86_64', 'aarch64'])('on %s', (arch) => {
    /** setxattr(path, name, value, size, flags); fsetxattr's first argument is a descriptor: the size is argument 3 either way. */
    const xattrArgs = (size: bigint): bigint[] => [0x7fff0000n, 0x7fff1000n, 0x7fff2000n, size, 0n, 0n];

    test.each(XATTR_WRITES)('%s with a value of 12, 20 or 24 bytes (v1, v2, v3 capabilities) gets EPERM as root', (name) => {
      for (const size of CAPABILITY_XATTR_SIZES) expect([size, decide(arch, name, { build, args: xattrArgs(BigInt(size)) })]).toEqual([size, EPERM]);
    });

    test.each(XATTR_WRITES)('%s with any other size is allowed as root: no capability fits in it', (name) => {
      for (const size of [0, 1, 11, 13, 19, 21, 23, 25, 4096]) expect([size, decide(arch, name, { build, args: xattrArgs(BigInt(size)) })]).toEqual([size, ALLOW]);
    });

    test('the size is read from its own argument: 20 in the flags or a pointer does not count', () => {
      expect(decide(arch, 'fsetxattr', { build, args: [20n, 20n, 20n, 100n, 20n, 0n] })).toEqual(ALLOW);
    });

    test('setxattrat, whose size sits in a struct, gets ENOSYS as root', () => {
      expect(decide(arch, XATTRAT, { build })).toEqual(ENOSYS);
    });

    test('as anyone but host root every attribute is allowed: a capability written there names that user as its root, which the host ignores', () => {
      for (const name of XATTR_WRITES) expect([name, decide(arch, name, { build, hostUid: 1000, args: xattrArgs(20n) })]).toEqual([name, ALLOW]);
      expect(decide(arch, XATTRAT, { build, hostUid: 65534 })).toEqual(ALLOW);
    });
  });

  test('the numbers are the kernel\'s: setxattr, lsetxattr, fsetxattr', () => {
    expect(XATTR_WRITES.map((name) => SYSCALL_NUMBERS.x86_64[name])).toEqual([188, 189, 190]);
    expect(XATTR_WRITES.map((name) => SYSCALL_NUMBERS.aarch64[name])).toEqual([5, 6, 7]);
  });
});

// <linux/personality.h>
const ADDR_NO_RANDOMIZE = 0x0040000n;
const READ_IMPLIES_EXEC = 0x0400000n;
const MMAP_PAGE_ZERO = 0x0100000n;
const PER_LINUX32 = 0x0008n;
const UNAME26 = 0x0020000n;

describe.each(FILTERS)('the %s filter: no personality that weakens ASLR or NX', (_chain, build) => {
  describe.each<SeccompArch>(['x86_64', 'aarch64'])('on %s', (arch) => {
    test('Linux, PER_LINUX32, UNAME26 and the query (0xffffffff) are allowed, as in Docker\'s default profile', () => {
      for (const persona of [0n, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, 0xffffffffn]) {
        expect([persona.toString(16), decide(arch, 'personality', { build, args: [persona] })]).toEqual([persona.toString(16), ALLOW]);
      }
      expect(PERSONALITIES_ALLOWED).toHaveLength(5);
    });

    test('ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC and MMAP_PAGE_ZERO get EPERM, alone or with an allowed persona', () => {
      for (const flag of [ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, MMAP_PAGE_ZERO]) {
        for (const persona of [flag, flag | PER_LINUX32, flag | UNAME26]) {
          expect([persona.toString(16), decide(arch, 'personality', { build, args: [persona] })]).toEqual([persona.toString(16), EPERM]);
        }
      }
    });

    test('only the low half counts, as in the kernel (an unsigned int)', () => {
      expect(decide(arch, 'personality', { build, args: [(1n << 40n) | 0n] })).toEqual(ALLOW);
      expect(decide(arch, 'personality', { build, args: [(1n << 40n) | ADDR_NO_RANDOMIZE] })).toEqual(EPERM);
    });

    test('the persona is read from its own argument: a flag in the others does not count', () => {
      expect(decide(arch, 'personality', { build, args: [0n, ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC] })).toEqual(ALLOW);
    });
  });
});

test('the numbers are the kernel\'s: personality 135, perf_event_open 298, userfaultfd 323 on x86_64; 92, 241, 282 on arm64', () => {
  const { x86_64: x, aarch64: a } = SYSCALL_NUMBERS;
  expect([x.personality, x.perf_event_open, x.userfaultfd, a.personality, a.perf_event_open, a.userfaultfd]).toEqual([135, 298, 323, 92, 241, 282]);
});

describe.each<SeccompArch>(['x86_64', 'aarch64'])('the one-Node filter on %s: no socket call that needs net_admin', (arch) => {
  const ioctl = (request: bigint, build?: Build): SeccompAction => decide(arch, 'ioctl', { args: [3n, request, 0n], ...(build ? { build } : {}) });
  const sockopt = (level: bigint, option: bigint, build?: Build): SeccompAction => decide(arch, 'setsockopt', { args: [3n, level, option, 0n, 4n], ...(build ? { build } : {}) });

  test('socket ioctls that set something get EPERM: interface flags, MTU, address, routes, bridges, ethtool, device-private ones', () => {
    for (const request of [0x8914n, 0x8922n, 0x8916n, 0x890bn, 0x890cn, 0x89a0n, 0x8946n, 0x89f0n, 0x89e5n, 0x8923n, 0x8931n]) {
      expect([request.toString(16), ioctl(request)]).toEqual([request.toString(16), EPERM]);
    }
  });

  test('socket ioctls that only read stay allowed, and so does every other ioctl (terminals, FIONREAD)', () => {
    for (const request of SOCKET_IOCTLS_ALLOWED) expect([request.toString(16), ioctl(BigInt(request))]).toEqual([request.toString(16), ALLOW]);
    for (const request of [0x5401n, 0x5413n, 0x541bn, 0x88ffn, 0x8a00n, 0x80108906n]) expect([request.toString(16), ioctl(request)]).toEqual([request.toString(16), ALLOW]);
  });

  test('the request is an unsigned int: high bits do not carry a set command past the rule', () => {
    expect(ioctl((1n << 40n) | 0x8922n)).toEqual(EPERM);
  });

  test('iptables, arptables, ebtables, IPVS, xfrm policy, transparent proxy, SO_MARK and TCP repair options get EPERM; ordinary options stay allowed', () => {
    for (const [level, option] of [[0n, 64n], [0n, 65n], [0n, 96n], [0n, 97n], [0n, 128n], [0n, 129n], [0n, 1152n], [0n, 1167n], [41n, 64n], [41n, 65n], [6n, 19n],
      [1n, 36n], [0n, 16n], [0n, 17n], [0n, 19n], [41n, 34n], [41n, 35n], [41n, 75n]]) {
      expect([level, option, sockopt(level, option)]).toEqual([level, option, EPERM]);
    }
    // IP_TOS, IP_TTL, IP_MULTICAST_LOOP, IPV6_V6ONLY, IPV6_TRANSPARENT's neighbours, SO_REUSEADDR, TCP_NODELAY, and the edges of each range.
    for (const [level, option] of [[0n, 1n], [0n, 2n], [0n, 34n], [0n, 63n], [0n, 66n], [0n, 1151n], [0n, 1168n], [41n, 26n], [41n, 63n], [41n, 66n], [1n, 2n], [1n, 64n], [6n, 1n], [6n, 18n], [6n, 20n]]) {
      expect([level, option, sockopt(level, option)]).toEqual([level, option, ALLOW]);
    }
  });

  test('reading iptables, arptables, ebtables and IPVS tables gets EPERM (it can also load modules); other reads stay allowed', () => {
    const get = (level: bigint, option: bigint): SeccompAction => decide(arch, 'getsockopt', { args: [3n, level, option, 0n, 0n] });
    for (const [level, option] of [[0n, 64n], [0n, 67n], [0n, 69n], [0n, 96n], [0n, 99n], [0n, 128n], [0n, 133n], [0n, 1152n], [0n, 1160n], [41n, 64n], [41n, 69n]]) {
      expect([level, option, get(level, option)]).toEqual([level, option, EPERM]);
    }
    // SO_ERROR, SO_TYPE, IP_TOS, SO_ORIGINAL_DST (80), TCP_INFO, IPV6_V6ONLY, and the edges.
    for (const [level, option] of [[1n, 4n], [1n, 3n], [0n, 1n], [0n, 80n], [0n, 63n], [0n, 70n], [0n, 1161n], [6n, 11n], [41n, 26n], [41n, 70n]]) {
      expect([level, option, get(level, option)]).toEqual([level, option, ALLOW]);
    }
  });

  test('the init chain\'s filter leaves them alone: its command holds no capability at all', () => {
    expect(ioctl(0x8922n, buildInitSeccompProgram)).toEqual(ALLOW);
    expect(sockopt(0n, 64n, buildInitSeccompProgram)).toEqual(ALLOW);
  });

  test('the numbers are the kernel\'s', () => {
    expect([SYSCALL_NUMBERS[arch].ioctl, SYSCALL_NUMBERS[arch].setsockopt, SYSCALL_NUMBERS[arch].getsockopt]).toEqual(arch === 'x86_64' ? [16, 54, 55] : [29, 208, 209]);
  });
});
