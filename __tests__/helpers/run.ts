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
