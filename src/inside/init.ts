// The first code inside the new namespaces (pid 1 until it execs). It builds
// the root, then execs the command through a nested user namespace, so that
// every mount it made is locked and cannot be remounted or unmounted from
// inside, whatever capabilities the command later holds.
import fs from 'node:fs';
import { toWire } from '../shared/errors';
import { SETUP_FAILED_EXIT, type InitConfig } from '../shared/sandbox-protocol';
import { cpuMs } from '../shared/debug';
import { classify, commandEnvironment, enterSandbox, keptDescriptors, loadNative, prepareDescriptors, readConfig, report, type Sys } from './enter';

const initStartedAt = performance.timeOrigin;

/**
 * The exec chain after setup. `sh` stays as pid 1: it reaps orphans, and a
 * command killed by signal N leaves it with 128+N (pid 1 itself could not be
 * killed by its own signals). Capabilities are dropped before anything of the
 * user's runs when the command would otherwise be uid 0 with full caps.
 */
export function commandArgv(config: InitConfig): string[] {
  const { tools, command } = config;
  const shell = [tools.sh, '-c', '"$@"; exit $?', 'mount-sandbox', ...command];
  const dropCaps = [tools.setpriv, '--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all', '--'];
  const rootInside = config.spec.uid === 'root' || config.hostUid === 0;
  if (config.mode === 'root-no-userns') return [...dropCaps, ...shell];
  const nested = [tools.unshare, '--user', '--map-current-user', '--mount', '--propagation', 'unchanged', '--'];
  return [...nested, ...(rootInside ? dropCaps : []), ...shell];
}

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
    const argv = commandArgv(config);
    report({ type: 'ready', overlays, steps, timings: { initStartedAt, mountMs, execAt: performance.timeOrigin + performance.now(), cpuMs: cpuMs() } });
    sys.execve(argv[0], argv, Object.entries(env).map(([key, value]) => `${key}=${value}`));
  } catch (error) {
    report({ type: 'error', ...toWire(classify(sys, error)) });
    process.exitCode = SETUP_FAILED_EXIT;
  }
}

main();
