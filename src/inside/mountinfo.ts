// Parses /proc/self/mountinfo (proc(5)), which is the only place that lists
// submounts together with the per-mount flags a remount has to preserve.
import { MS_NOATIME, MS_NODEV, MS_NODIRATIME, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_RELATIME, MS_STRICTATIME } from '../native/mount-flags';

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

/** The topmost mount whose mount point is the longest prefix of `p`. */
export function mountHolding(entries: readonly MountInfoEntry[], p: string): MountInfoEntry | undefined {
  let best: MountInfoEntry | undefined;
  for (const entry of entries) {
    const prefix = entry.mountPoint === '/' ? '/' : `${entry.mountPoint}/`;
    if ((p === entry.mountPoint || p.startsWith(prefix)) && (best === undefined || entry.mountPoint.length >= best.mountPoint.length)) best = entry;
  }
  return best;
}

/**
 * The mount at `at` and every mount stacked on it, or, where `at` is no
 * mount point, every mount below it in the mount that holds it; outermost
 * first. A bind of `at` takes them all along (MS_REC), so each one needs its
 * own remount: a file bind at /etc/hosts (as in every Docker container)
 * below a bind of /etc would stay writable otherwise. Only the topmost mount
 * at a point counts, and only its descendants: mounts that a later mount hid
 * are unreachable by path, and a remount by path would hit the wrong one (or
 * fail with EINVAL).
 */
export function mountsAtOrBelow(entries: readonly MountInfoEntry[], at: string): MountInfoEntry[] {
  const path = at.length > 1 && at.endsWith('/') ? at.slice(0, -1) : at;
  const start = entries.filter((entry) => entry.mountPoint === path).pop() ?? mountHolding(entries, path);
  if (start === undefined) return [];
  const children = new Map<number, MountInfoEntry[]>();
  for (const entry of entries) {
    if (entry.mountId === entry.parentId) continue;
    const list = children.get(entry.parentId) ?? [];
    list.push(entry);
    children.set(entry.parentId, list);
  }
  // The topmost mount at each point below, as the kernel resolves paths.
  const byPoint = new Map<string, MountInfoEntry>();
  const visit = (entry: MountInfoEntry): void => {
    byPoint.set(entry.mountPoint, entry);
    for (const child of children.get(entry.mountId) ?? []) visit(child);
  };
  visit(start);
  const prefix = path === '/' ? '/' : `${path}/`;
  return [...byPoint.values()]
    .filter((entry) => entry.mountPoint === path || entry.mountPoint.startsWith(prefix))
    .sort((a, b) => a.mountPoint.length - b.mountPoint.length);
}
