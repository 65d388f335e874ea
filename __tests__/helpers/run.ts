// Runs the staged CLI (or any command) as root or as nobody, and collects
// its output. Every test that launches a sandbox goes through here.
import { spawn, type ChildProcess } from 'node:child_process';
import { currentStage } from './stage';

export type User = 'root' | 'nobody';
export const USERS: User[] = process.getuid?.() === 0 ? ['root', 'nobody'] : ['nobody'];

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  onSpawn?: (child: ChildProcess) => void;
}

/** A HOME that does not exist on the host, so nothing can pass for the sandbox's fresh one. */
export const TEST_HOME = '/nonexistent/mount-sandbox-test-home';

/**
 * A prefix that runs a command as root on a host that refuses user
 * namespaces (mode root-no-userns): root of a user namespace of its own whose
 * user.max_user_namespaces is 0, so that every user namespace below it is
 * refused with ENOSPC, as on a host with the sysctl at 0. The sysctl is per
 * user namespace, so this host's own stays as it is.
 */
export const NO_USERNS_HOST = ['unshare', '--user', '--map-root-user', '--', 'sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', 'sh'];
/** What the runner prints when it falls back to mode root-no-userns under NO_USERNS_HOST. */
export const NO_USERNS_FALLBACK = /user namespaces are refused \(unshare: unshare failed: No space left on device\); running as real root without one/;

export type HostMode = 'userns' | 'root-no-userns';

/**
 * Every user, and root once more on a host that refuses user namespaces,
 * where the runner falls back to mode root-no-userns (the init chain, with
 * every capability dropped, and no kernel lock on the mounts): a case's
 * name, its user and the host it runs on (run it under NO_USERNS_HOST).
 */
export const HOST_CASES: Array<[string, User, HostMode]> = [
  ...USERS.map((user): [string, User, HostMode] => [user, user, 'userns']),
  ...(USERS.includes('root') ? [['root, on a host without user namespaces,', 'root', 'root-no-userns'] as [string, User, HostMode]] : []),
];

export function asUser(user: User, argv: string[]): string[] {
  if (user === 'root' || process.getuid?.() !== 0) return argv;
  return ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...argv];
}

export function run(user: User, argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = asUser(user, argv);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd ?? currentStage().project,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: TEST_HOME, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    options.onSpawn?.(child);
  });
}

export function sandboxRun(user: User, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return run(user, [process.execPath, currentStage().cli, 'run', ...args], options);
}
