// bench/fork-lever.js's preload: before Jest loads, make madvise(MADV_DONTFORK) a successful no-op on every
// thread (seccomp, SECCOMP_FILTER_FLAG_TSYNC), so that V8's heap pages stay in a fork. x86_64 and arm64.
'use strict';
const path = require('node:path');
const koffi = require(require.resolve('koffi', { paths: [path.resolve(__dirname, '..')] }));

const MADV = { x64: { nr: 28, audit: 0xc000003e, seccomp: 317 }, arm64: { nr: 233, audit: 0xc00000b7, seccomp: 277 } }[process.arch];
if (MADV === undefined) throw new Error(`bench/fork-lever.js knows no syscall numbers for ${process.arch}`);
const MADV_DONTFORK = 10;
const [LD_ABS_W, JEQ_K, RET_K] = [0x20, 0x15, 0x06];
const [RET_ALLOW, RET_ERRNO] = [0x7fff0000, 0x00050000];
const program = [
  [LD_ABS_W, 0, 0, 4], // seccomp_data.arch
  [JEQ_K, 0, 4, MADV.audit],
  [LD_ABS_W, 0, 0, 0], // .nr
  [JEQ_K, 0, 2, MADV.nr],
  [LD_ABS_W, 0, 0, 32], // .args[2], low word: the advice
  [JEQ_K, 1, 0, MADV_DONTFORK],
  [RET_K, 0, 0, RET_ALLOW],
  [RET_K, 0, 0, RET_ERRNO | 0], // errno 0: madvise "succeeds" without marking anything
];
const filter = Buffer.alloc(program.length * 8);
program.forEach(([code, jt, jf, k], i) => {
  filter.writeUInt16LE(code, i * 8);
  filter.writeUInt8(jt, i * 8 + 2);
  filter.writeUInt8(jf, i * 8 + 3);
  filter.writeUInt32LE(k, i * 8 + 4);
});
const libc = koffi.load('libc.so.6');
const prctl = libc.func('int prctl(int option, unsigned long a, unsigned long b, unsigned long c, unsigned long d)');
koffi.struct('fork_lever_fprog', { len: 'unsigned short', filter: 'void *' });
const seccomp = libc.func('long syscall(long nr, unsigned int op, unsigned int flags, const fork_lever_fprog *prog)');
const PR_SET_NO_NEW_PRIVS = 38;
const [SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC] = [1, 1];
if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0) throw new Error('prctl(PR_SET_NO_NEW_PRIVS) failed');
if (Number(seccomp(MADV.seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, { len: program.length, filter })) !== 0) throw new Error('seccomp(SECCOMP_SET_MODE_FILTER) failed');
