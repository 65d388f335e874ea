// A per-sandbox cap on tasks, so that a fork bomb stops inside the sandbox.
// RLIMIT_NPROC is counted per user namespace (Linux >= 5.14), so it is a
// per-sandbox cap for everyone but the host's root, whom the kernel exempts.
// For root we create a pids cgroup, where one is mounted and ours to write.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type ProcessLimitKind = 'pids-cgroup' | 'rlimit' | 'none';

export interface ProcessLimit {
  kind: ProcessLimitKind;
  max: number;
  /** The cgroup's cgroup.procs, which the init joins before anything else runs. */
  cgroupProcs?: string;
  /** Removes the cgroup once the sandbox is gone. */
  release(): Promise<void>;
}

const GROUP = 'mount-sandbox';

/** The pids controller's directory for this process: cgroup v1's pids hierarchy, or v2 with pids delegated to us. */
function pidsCgroupBase(): string | undefined {
  let mountinfo: string;
  let membership: string;
  try {
    mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    membership = fs.readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-');
    if (separator < 0) continue;
    const [fsType, , superOptions] = fields.slice(separator + 1);
    const mountPoint = fields[4];
    if (fsType === 'cgroup' && superOptions?.split(',').includes('pids')) {
      const own = /^\d+:(?:[^:]*,)?pids(?:,[^:]*)?:(.*)$/m.exec(membership)?.[1];
      if (own !== undefined) return path.join(mountPoint, own);
    }
    if (fsType === 'cgroup2') {
      const own = /^0::(.*)$/m.exec(membership)?.[1];
      if (own === undefined) continue;
      const dir = path.join(mountPoint, own);
      try {
        if (fs.readFileSync(path.join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('pids')) return dir;
      } catch {
        // not ours to look at
      }
    }
  }
  return undefined;
}

function tryCgroup(max: number): ProcessLimit | undefined {
  const base = pidsCgroupBase();
  if (base === undefined) return undefined;
  const parent = path.join(base, GROUP);
  const dir = path.join(parent, `${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'pids.max'), String(max));
  } catch {
    try {
      fs.rmdirSync(dir);
    } catch {
      // never created
    }
    return undefined;
  }
  return {
    kind: 'pids-cgroup',
    max,
    cgroupProcs: path.join(dir, 'cgroup.procs'),
    release: () => removeEmpty(dir),
  };
}

/** A cgroup can be removed only once its last task is gone; the kernel may take a moment to reap them. */
async function removeEmpty(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY') return;
      await sleep(10);
    }
  }
}

export function chooseProcessLimit(max: number, hostUid: number): ProcessLimit {
  if (hostUid === 0) {
    const cgroup = tryCgroup(max);
    return cgroup ?? { kind: 'none', max, release: async () => undefined };
  }
  return { kind: 'rlimit', max, release: async () => undefined };
}
