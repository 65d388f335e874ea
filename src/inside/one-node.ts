// The first code of a Node command in the one-Node chain, loaded with
// `node --require` before anything of the command's (its own preloads come
// after this one, its main script after them). The process was born in the
// sandbox's namespaces; here it builds its root with the same interpreter as
// the init, locks itself down (lockdown.ts), reports on the status pipe as
// the init does, and returns: Node then runs the command, inside.
//
// Everything here is synchronous: a libuv threadpool thread started before
// the lock-down would keep capabilities.
import fs from 'node:fs';
import { SandboxError, toWire } from '../shared/errors';
import { SANDBOX_MARKER_VAR, SETUP_FAILED_EXIT, STATUS_FD } from '../shared/sandbox-protocol';
import { cpuMs } from '../shared/debug';
import { classify, closeInheritedDescriptors, commandEnvironment, enterSandbox, keptDescriptors, loadNative, readConfig, report } from './enter';
import { lockDown, threadIds } from './lockdown';

// Node's own threads, before any of ours could have been started.
const threadsAtStart = threadIds();

/** Children of the test start process.execPath: it must be this very binary, inside too. */
function assertExecutableInside(): void {
  const exe = fs.statSync('/proc/self/exe', { throwIfNoEntry: false });
  const inside = fs.statSync(process.execPath, { throwIfNoEntry: false });
  if (exe === undefined || (inside !== undefined && inside.dev === exe.dev && inside.ino === exe.ino)) return;
  throw new SandboxError('setup', `node (${process.execPath}) is not the same file inside the sandbox, so the test could not start it again`, {
    path: process.execPath,
    hint: 'bind the folder node is installed in (read-only), or set MOUNT_SANDBOX_ONE_NODE=0 to start node inside a finished sandbox instead',
  });
}

/**
 * Node's children (child_process.fork, worker processes of a test runner)
 * take process.execArgv by default: they must not run this preload again.
 */
function forgetThisPreload(): void {
  const at = process.execArgv.findIndex((arg, i) => (arg === '--require' || arg === '-r') && process.execArgv[i + 1] === __filename);
  if (at !== -1) process.execArgv.splice(at, 2);
}

function main(): void {
  forgetThisPreload();
  const config = readConfig();
  if (config === undefined) {
    // A child inside a sandbox that was given this preload anyway has nothing left to build.
    if (process.env[SANDBOX_MARKER_VAR] !== undefined) return;
    process.stderr.write('mount-sandbox: the one-Node sandbox preload must be started by the launcher\n');
    process.exit(SETUP_FAILED_EXIT);
  }
  report({ type: 'started' });
  const native = loadNative();
  // Returning would let Node run the command outside any sandbox.
  if (native === undefined) process.exit(SETUP_FAILED_EXIT);
  const { sys } = native;
  try {
    const { overlays, steps, mountMs } = enterSandbox(native, config, [process.execPath]);
    assertExecutableInside();
    closeInheritedDescriptors(sys, [...keptDescriptors(config), STATUS_FD]);
    lockDown(sys, threadsAtStart, config.hostUid);
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, commandEnvironment(config, overlays));
    report({ type: 'ready', overlays, steps, timings: { initStartedAt: performance.timeOrigin, mountMs, execAt: performance.timeOrigin + performance.now(), cpuMs: cpuMs() } });
  } catch (error) {
    report({ type: 'error', ...toWire(classify(sys, error)) });
    process.exit(SETUP_FAILED_EXIT);
  }
  // The status pipe is the launcher's: nothing of the command may write to it.
  fs.closeSync(STATUS_FD);
}

main();
