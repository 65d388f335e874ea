// The one-Node chain's lock-down, the last step before any of the command's
// own code runs: the mounts this process made are not locked by a nested
// user namespace, so from here on nothing in the process may change them.
//
// Capabilities are per thread, and Node starts its platform threads before
// any JavaScript runs: those keep the capabilities the process was born
// with. The main thread drops all of its own while it is still the only one
// that runs JavaScript, and before the libuv threadpool or any worker exists,
// so that every thread and process made from here on has none. The seccomp
// filter then binds every thread at once, Node's own included.
import fs from 'node:fs';
import { SandboxError } from '../shared/errors';
import { buildSeccompProgram, encodeProgram, seccompArchOf } from '../native/seccomp-filter';
import type { Sys } from './enter';

/** The threads of this process now, by id; undefined where no /proc is mounted. */
export function threadIds(): Set<string> | undefined {
  try {
    return new Set(fs.readdirSync('/proc/self/task'));
  } catch {
    return undefined;
  }
}

function threadName(tid: string): string {
  try {
    return fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** The threads that appeared since `before`: each would keep the capabilities the main thread is about to drop. */
function assertNoNewThreads(before: ReadonlySet<string> | undefined): void {
  const now = threadIds();
  if (before === undefined || now === undefined) return;
  const added = [...now].filter((tid) => !before.has(tid));
  if (added.length === 0) return;
  throw new SandboxError('internal', `threads started before the sandbox dropped its capabilities (${added.map((tid) => `${tid} ${threadName(tid)}`).join(', ')}), and they would keep them: something in the setup used the libuv threadpool or a worker`, {
    hint: 'the setup must stay synchronous until the lock-down; MOUNT_SANDBOX_ONE_NODE=0 uses the two-process chain meanwhile',
  });
}

const SECCOMP_HINT = 'the one-Node chain has no mount lock without this filter, so the command (a test file) does not run: use a kernel built with CONFIG_SECCOMP_FILTER (distribution kernels are), '
  + 'let a container\'s own seccomp profile allow seccomp(2) (Docker\'s default does), or set MOUNT_SANDBOX_ONE_NODE=0 for the two-process chain, whose mount lock is the kernel\'s nested user namespace';

export function lockDown(sys: Sys, threadsAtStart: ReadonlySet<string> | undefined, hostUid: number): void {
  assertNoNewThreads(threadsAtStart);
  sys.dropAllCapabilities();
  const arch = seccompArchOf(process.arch);
  if (arch === undefined) {
    throw new SandboxError('host', `the one-Node chain has a seccomp filter for x86_64 and aarch64 only, and this is ${process.arch}`, { hint: 'set MOUNT_SANDBOX_ONE_NODE=0 for the two-process chain' });
  }
  try {
    // no_new_privs is already set (enterSandbox): the kernel requires it of an unprivileged filter.
    sys.installSeccompFilter(encodeProgram(buildSeccompProgram(arch, { hostUid })));
  } catch (error) {
    if (!sys.isSyscallError(error)) throw error;
    throw new SandboxError('setup', `the kernel refused the sandbox's seccomp filter: ${error.message}`, {
      cause: error, syscall: error.syscall, errno: error.code, hint: SECCOMP_HINT,
    });
  }
  const mode = sys.seccompMode();
  if (mode !== 2) throw new SandboxError('setup', `seccomp accepted the sandbox's filter, yet prctl(PR_GET_SECCOMP) says mode ${mode}`, { syscall: 'prctl', hint: SECCOMP_HINT });
}
