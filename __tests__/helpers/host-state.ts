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

/**
 * /tmp entries left by tools the tests run on the host, not by a sandbox:
 * Jest's and V8's caches, tmp's folders, our stages, and pnpm's store locks
 * (e2e/pnpm-strict), which pnpm 12 makes in /tmp whatever TMPDIR says, and
 * keeps. Suites run side by side, so every leak check of /tmp skips them.
 */
export const TOOLS_TMP_ENTRY = /^(jest_|v8-compile-cache|tmp-|mount-sandbox-stage-|pnpm-store-operation-locks-\d+$)/;

export function captureHostState(): HostState {
  return { mounts: mountPoints(), tmpEntries: fs.readdirSync('/tmp').sort() };
}

/** Processes still running any part of our launch chain or init. */
export function sandboxProcesses(): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => /inside\/init\.js|--kill-child/.test(line) && !line.includes('ps -eo'));
}

/** The file in a stage that names the checkout whose run staged it. */
export const STAGE_OWNER_FILE = 'owner';

/**
 * Whether a sandbox process is this run's to answer for, judged by its cwd
 * (the launcher's, which the host-side unshare keeps). Helpers and CI may run
 * the suite in parallel checkouts on one host, and the leak check must not
 * blame this run for their live sandboxes. Ours: a cwd in this checkout, in
 * this run's stage, or in a /tmp folder that appeared during this run and
 * whose owner file, if any, names this checkout. Every test of ours launches
 * from one of those.
 */
export function isThisRuns(line: string, run: { repo: string; stage: string; tmpBefore: readonly string[] }): boolean {
  const pid = line.trim().split(' ')[0];
  let cwd: string;
  try {
    cwd = fs.readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, '');
  } catch {
    // Gone while we looked, or not ours to read: count it, the retry loop lets it end.
    return true;
  }
  const under = (dir: string): boolean => cwd === dir || cwd.startsWith(`${dir}/`);
  if (under(run.repo) || under(run.stage)) return true;
  const entry = /^\/tmp\/([^/]+)/.exec(cwd)?.[1];
  if (entry === undefined || run.tmpBefore.includes(entry)) return false;
  try {
    return fs.readFileSync(`/tmp/${entry}/${STAGE_OWNER_FILE}`, 'utf8') === run.repo;
  } catch {
    return true;
  }
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
