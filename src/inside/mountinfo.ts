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

function isAtOrUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/**
 * The mount that `p` is on, as the kernel resolves the path: from the root
 * mount, component by component, into the latest child mounted at each
 * prefix (a mount stacked on another is its child). A mount at a longer
 * prefix that a later mount on a shorter one covers is not on the way.
 */
export function mountHolding(entries: readonly MountInfoEntry[], p: string): MountInfoEntry | undefined {
  const ids = new Set(entries.map((entry) => entry.mountId));
  const children = new Map<number, MountInfoEntry[]>();
  for (const entry of entries) {
    if (entry.mountId === entry.parentId || !ids.has(entry.parentId)) continue;
    const list = children.get(entry.parentId) ?? [];
    list.push(entry);
    children.set(entry.parentId, list);
  }
  // The top of the tree given: the root mount, or (for a part of the table, the host's under /oldroot) its top mount.
  let current: MountInfoEntry | undefined;
  for (const entry of entries) {
    const top = entry.mountId === entry.parentId || !ids.has(entry.parentId);
    if (top && isAtOrUnder(p, entry.mountPoint) && (current === undefined || entry.mountPoint.length >= current.mountPoint.length)) current = entry;
  }
  if (current === undefined) return undefined;
  const prefixes = ['/', ...p.split('/').filter(Boolean).map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`)].filter((prefix) => isAtOrUnder(prefix, (current as MountInfoEntry).mountPoint));
  for (const prefix of prefixes) {
    for (;;) {
      const onTop: MountInfoEntry | undefined = (children.get(current.mountId) ?? []).filter((child) => child.mountPoint === prefix).pop();
      if (onTop === undefined) break;
      current = onTop;
    }
  }
  return current;
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
  const start = mountHolding(entries, path);
  if (start === undefined) return [];
  const children = new Map<number, MountInfoEntry[]>();
  for (const entry of entries) {
    if (entry.mountId === entry.parentId) continue;
    const list = children.get(entry.parentId) ?? [];
    list.push(entry);
    children.set(entry.parentId, list);
  }
  // The topmost mount at each point below, as the kernel resolves paths: a
  // child that a later child of the same mount covers (on its path or above it) is out of reach.
  const byPoint = new Map<string, MountInfoEntry>();
  const seen = new Set<number>();
  const visit = (entry: MountInfoEntry): void => {
    if (seen.has(entry.mountId)) return;
    seen.add(entry.mountId);
    byPoint.set(entry.mountPoint, entry);
    const list = children.get(entry.mountId) ?? [];
    list.forEach((child, i) => {
      if (!list.slice(i + 1).some((later) => isAtOrUnder(child.mountPoint, later.mountPoint))) visit(child);
    });
  };
  visit(start);
  const prefix = path === '/' ? '/' : `${path}/`;
  return [...byPoint.values()]
    .filter((entry) => entry.mountPoint === path || entry.mountPoint.startsWith(prefix))
    .sort((a, b) => a.mountPoint.length - b.mountPoint.length);
}
