// The first code inside the new namespaces (pid 1 until it execs). It builds
// the root, drops every capability, then execs the command through a nested
// user namespace, so that every mount it made is locked and cannot be
// remounted or unmounted from inside, whatever capabilities the command later
// holds.
import fs from 'node:fs';
import { SandboxError, toWire } from '../shared/errors';
import { buildInitSeccompProgram, encodeProgram, seccompArchOf } from '../native/seccomp-filter';
import { SETUP_FAILED_EXIT, type InitConfig } from '../shared/sandbox-protocol';
import { cpuMs } from '../shared/debug';
import { classify, commandEnvironment, enterSandbox, keptDescriptors, loadNative, prepareDescriptors, readConfig, report, type Sys } from './enter';

const initStartedAt = performance.timeOrigin;

/**
 * The exec chain after setup. `sh` stays as pid 1: it reaps orphans, and a
 * command killed by signal N leaves it with 128+N (pid 1 itself could not be
 * killed by its own signals).
 *
 * Every program here is the sandbox's, not the host's: a bind (a docblock's
 * own, over /usr/bin/unshare, say) can replace it, or the libraries it loads.
 * So the init execs the first with no capability left (dropExecPrivileges),
 * and none of them can touch the mounts, which nothing has locked yet. The
 * nested unshare needs none: it gets a full set in the user namespace it
 * makes, where the mounts are locked, and drops it there (setpriv) when the
 * command would otherwise be uid 0 with full caps. In mode root-no-userns,
 * there is no such namespace, and the init's own drop is the only one.
 *
 * They also run with CHAIN_ENVIRONMENT, and `env -i` hands the command's own
 * environment (a docblock's LD_PRELOAD, say) only to sh and what it runs.
 */
export function commandArgv(config: InitConfig, env: Readonly<Record<string, string>>): string[] {
  const { tools, command } = config;
  const shell = [tools.env, '-i', '--', ...Object.entries(env).map(([key, value]) => `${key}=${value}`), tools.sh, '-c', '"$@"; exit $?', 'mount-sandbox', ...command];
  if (config.mode === 'root-no-userns') return shell;
  const dropCaps = [tools.setpriv, '--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all', '--'];
  const rootInside = config.spec.uid === 'root' || config.hostUid === 0;
  const nested = [tools.unshare, '--user', '--map-current-user', '--mount', '--propagation', 'unchanged', '--'];
  return [...nested, ...(rootInside ? dropCaps : []), ...shell];
}

/**
 * The last step before the exec: this thread, the one that execs, drops its
 * bounding, ambient, inheritable, permitted and effective sets, so that what
 * it execs starts with none, uid 0 or not (no_new_privs is set: no file can
 * give any back). Node's other threads keep theirs, and end at the exec.
 *
 * One exception: as uid 0 here, the nested unshare maps uid 0 into its new
 * user namespace, which the kernel (5.12 on) allows only to a creator that
 * holds CAP_SETFCAP. That one is kept for it: it touches no mount, and the
 * filter (forbidSetidFiles) already refuses the one thing it could write, a
 * file capability, where that would act on the host.
 */
function dropExecPrivileges(sys: Sys, config: InitConfig): void {
  const keep = config.mode === 'userns' && process.geteuid?.() === 0 ? [sys.CAP_SETFCAP] : [];
  try {
    sys.dropCapabilitiesExcept(keep);
  } catch (error) {
    if (!sys.isSyscallError(error)) throw error;
    throw new SandboxError('setup', `the sandbox's init could not drop its capabilities before it starts the command: ${error.message}`, {
      cause: error, syscall: error.syscall, errno: error.code, hint: 'report this as a bug, with the output of `mount-sandbox doctor`',
    });
  }
}

const CHAIN_ENVIRONMENT = ['PATH=/usr/bin:/bin'];

/** libuv leaves pipes non-blocking; most programs expect blocking stdio. */
function makeStdioBlocking(sys: Sys): void {
  for (const fd of [0, 1, 2]) {
    try {
      sys.makeBlocking(fd);
    } catch {
      // A closed stdio descriptor stays closed.
    }
  }
}

const SECCOMP_HINT = 'use a kernel built with CONFIG_SECCOMP_FILTER (distribution kernels are), or let a container\'s own seccomp profile allow seccomp(2) (Docker\'s default does)';

/**
 * The init chain's filter (seccomp-filter.ts): no setuid or setgid bit on
 * any file, for the command and everything it starts, nested user
 * namespaces included (a filter is inherited and cannot be removed). The
 * sandbox's uid is the host user's and writable binds are the host's file
 * systems, whose setuid files would work on the host, nosuid being only the
 * sandbox's. As host root, no file capability either. Installed last, just
 * before execve: nothing of the command runs without it, and no_new_privs is
 * already set (enterSandbox).
 */
function forbidSetidFiles(sys: Sys, hostUid: number): void {
  const arch = seccompArchOf(process.arch);
  if (arch === undefined) {
    throw new SandboxError('host', `the sandbox's seccomp filter, which keeps a test from leaving a setuid file on the host, is built for x86_64 and aarch64 only, and this is ${process.arch}`, {
      hint: 'run the tests on an x86_64 or aarch64 machine',
    });
  }
  try {
    sys.installSeccompFilter(encodeProgram(buildInitSeccompProgram(arch, { hostUid })));
  } catch (error) {
    if (!sys.isSyscallError(error)) throw error;
    throw new SandboxError('setup', `the kernel refused the sandbox's seccomp filter (no setuid or setgid files): ${error.message}`, {
      cause: error, syscall: error.syscall, errno: error.code, hint: SECCOMP_HINT,
    });
  }
}

function main(): void {
  const config = readConfig();
  if (config === undefined) {
    process.stderr.write('mount-sandbox: the sandbox init must be started by the launcher\n');
    process.exit(SETUP_FAILED_EXIT);
  }
  report({ type: 'started' });
  const native = loadNative();
  if (native === undefined) return;
  const { sys } = native;
  try {
    const { overlays, steps, mountMs } = enterSandbox(native, config, []);
    if (fs.existsSync('/proc/self/fd')) prepareDescriptors(sys, keptDescriptors(config), false);
    makeStdioBlocking(sys);
    const env = commandEnvironment(config, overlays);
    const argv = commandArgv(config, env);
    forbidSetidFiles(sys, config.hostUid);
    dropExecPrivileges(sys, config);
    report({ type: 'ready', overlays, steps, timings: { initStartedAt, mountMs, execAt: performance.timeOrigin + performance.now(), cpuMs: cpuMs() } });
    sys.execve(argv[0], argv, CHAIN_ENVIRONMENT);
  } catch (error) {
    report({ type: 'error', ...toWire(classify(sys, error)) });
    process.exitCode = SETUP_FAILED_EXIT;
  }
}

main();
