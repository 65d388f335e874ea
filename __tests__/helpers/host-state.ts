// What a run may not leave behind on the host: mounts, processes, files.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface HostState {
  mounts: string[];
  tmpEntries: string[];
}

export function mountPoints(): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((line) => line.split(' ')[4]).sort();
}

export function captureHostState(): HostState {
  return { mounts: mountPoints(), tmpEntries: fs.readdirSync('/tmp').sort() };
}

/** Processes still running any part of our launch chain or init. */
export function sandboxProcesses(): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => /inside\/init\.js|--kill-child/.test(line) && !line.includes('ps -eo'));
}

/**
 * Sandbox trampolines started from `dir` (the launcher's cwd, which the
 * host-side unshare keeps): lets a test check its own sandboxes while other
 * test files run theirs in parallel.
 */
export function sandboxProcessesIn(dir: string): string[] {
  return sandboxProcesses().filter((line) => {
    const pid = line.trim().split(' ')[0];
    try {
      return fs.readlinkSync(`/proc/${pid}/cwd`) === dir;
    } catch {
      return false;
    }
  });
}
