// Parses /proc/self/mountinfo (proc(5)), which is the only place that lists
// submounts together with the per-mount flags a remount has to preserve.
import { MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_RELATIME, MS_STRICTATIME } from './mount-flags';

export interface MountInfoEntry {
  mountId: number;
  parentId: number;
  mountPoint: string;
  /** MS_* flags from the per-mount options (ro, nosuid, nodev, noexec, atime). */
  flags: number;
  fsType: string;
}

const OPTION_FLAGS: Record<string, number> = {
  ro: MS_RDONLY,
  nosuid: MS_NOSUID,
  nodev: MS_NODEV,
  noexec: MS_NOEXEC,
  noatime: MS_NOATIME,
  nodiratime: MS_NODIRATIME,
  relatime: MS_RELATIME,
  strictatime: MS_STRICTATIME,
};

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0) continue;
    let flags = 0;
    for (const option of fields[5].split(',')) flags |= OPTION_FLAGS[option] ?? 0;
    entries.push({
      mountId: Number(fields[0]),
      parentId: Number(fields[1]),
      mountPoint: unescape(fields[4]),
      flags,
      fsType: fields[separator + 1],
    });
  }
  return entries;
}

/** The mount at `path` and every mount below it, outermost first; for a path mounted twice, the topmost. */
export function mountsAtOrBelow(entries: readonly MountInfoEntry[], at: string): MountInfoEntry[] {
  const path = at.length > 1 && at.endsWith('/') ? at.slice(0, -1) : at;
  const prefix = path === '/' ? '/' : `${path}/`;
  const byPoint = new Map<string, MountInfoEntry>();
  for (const entry of entries) {
    if (entry.mountPoint === path || entry.mountPoint.startsWith(prefix)) byPoint.set(entry.mountPoint, entry);
  }
  return [...byPoint.values()].sort((a, b) => a.mountPoint.length - b.mountPoint.length);
}
