// The one-Node chain's seccomp filter, run in a small classic-BPF evaluator
// written here from the kernel's semantics (net/core/filter.c, the subset
// seccomp accepts). This is the one place where the kernel is stood in for:
// the e2e and security tests run the same program in the real one.
import {
  AUDIT_ARCH, buildSeccompProgram, CLONE_NAMESPACE_FLAGS, decodeAction, DENIED, encodeProgram, SYSCALL_NUMBERS, X32_SYSCALL_BIT,
  type BpfInstruction, type SeccompAction, type SeccompArch, type SyscallName,
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

function decide(arch: SeccompArch, call: SyscallName | number, options: { arch?: number; args?: readonly bigint[] } = {}): SeccompAction {
  const nr = typeof call === 'number' ? call : SYSCALL_NUMBERS[arch][call];
  return decodeAction(run(buildSeccompProgram(arch), seccompData({ nr, arch: options.arch ?? AUDIT_ARCH[arch], args: options.args ?? [] })));
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
    const program = buildSeccompProgram(arch);
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
    const program = buildSeccompProgram(arch);
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
