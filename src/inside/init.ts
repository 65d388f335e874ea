// The first code inside the new namespaces (pid 1 until it execs). It builds
// the root, then execs the command through a nested user namespace, so that
// every mount it made is locked and cannot be remounted or unmounted from
// inside, whatever capabilities the command later holds.
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
 * killed by its own signals). Capabilities are dropped before anything of the
 * user's runs when the command would otherwise be uid 0 with full caps.
 *
 * The nested unshare and setpriv still hold the init's capabilities over
 * mounts nothing has locked yet (in mode root-no-userns, real root's), so
 * they run with CHAIN_ENVIRONMENT, and `env -i` hands the command's own
 * environment (a docblock's LD_PRELOAD, say) only to sh and what it runs.
 */
export function commandArgv(config: InitConfig, env: Readonly<Record<string, string>>): string[] {
  const { tools, command } = config;
  const shell = [tools.env, '-i', '--', ...Object.entries(env).map(([key, value]) => `${key}=${value}`), tools.sh, '-c', '"$@"; exit $?', 'mount-sandbox', ...command];
  const dropCaps = [tools.setpriv, '--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all', '--'];
  const rootInside = config.spec.uid === 'root' || config.hostUid === 0;
  if (config.mode === 'root-no-userns') return [...dropCaps, ...shell];
  const nested = [tools.unshare, '--user', '--map-current-user', '--mount', '--propagation', 'unchanged', '--'];
  return [...nested, ...(rootInside ? dropCaps : []), ...shell];
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
    report({ type: 'ready', overlays, steps, timings: { initStartedAt, mountMs, execAt: performance.timeOrigin + performance.now(), cpuMs: cpuMs() } });
    sys.execve(argv[0], argv, CHAIN_ENVIRONMENT);
  } catch (error) {
    report({ type: 'error', ...toWire(classify(sys, error)) });
    process.exitCode = SETUP_FAILED_EXIT;
  }
}

main();
