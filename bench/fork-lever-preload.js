// bench/fork-lever.js's preload: before Jest loads, make madvise(MADV_DONTFORK) a successful no-op on every
// thread, so that V8's heap pages stay in a fork. It uses the package's own syscall layer and BPF encoder
// (`npm run build` first).
'use strict';
const { AUDIT_ARCH, SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, encodeProgram, seccompArchOf } = require('../dist/native/seccomp-filter');
const { installSeccompFilter, setNoNewPrivs } = require('../dist/native/syscalls');

const arch = seccompArchOf(process.arch);
const MADVISE = { x86_64: 28, aarch64: 233 }[arch];
if (MADVISE === undefined) throw new Error(`bench/fork-lever.js knows no syscall numbers for ${process.arch}`);
const MADV_DONTFORK = 10;
const [LD_ABS_W, JEQ_K, RET_K] = [0x20, 0x15, 0x06];
const op = (code, jt, jf, k) => ({ code, jt, jf, k });
setNoNewPrivs();
installSeccompFilter(encodeProgram([
  op(LD_ABS_W, 0, 0, 4), // seccomp_data.arch
  op(JEQ_K, 0, 4, AUDIT_ARCH[arch]),
  op(LD_ABS_W, 0, 0, 0), // .nr
  op(JEQ_K, 0, 2, MADVISE),
  op(LD_ABS_W, 0, 0, 32), // .args[2], low word: the advice
  op(JEQ_K, 1, 0, MADV_DONTFORK),
  op(RET_K, 0, 0, SECCOMP_RET_ALLOW),
  op(RET_K, 0, 0, SECCOMP_RET_ERRNO | 0), // errno 0: madvise "succeeds" without marking anything
]));
