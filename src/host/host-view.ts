// The real filesystem behind HostView.
import fs from 'node:fs';
import type { HostView, PathKind } from './defaults';

export const realHost: HostView = {
  kind(p: string): PathKind {
    try {
      const stat = fs.lstatSync(p);
      if (stat.isSymbolicLink()) return 'symlink';
      if (stat.isDirectory()) return 'dir';
      return stat.isFile() ? 'file' : 'other';
    } catch {
      return 'missing';
    }
  },
  readlink: (p) => fs.readlinkSync(p),
  realpath: (p) => fs.realpathSync(p),
  list(dir) {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  },
};

/**
 * A view that remembers what it saw inside node_modules. Every sandboxed file
 * of a Jest run scans the same node_modules trees for linked packages; they do
 * not change during a run, so one scan serves them all. Everything else is
 * looked up afresh: snapshot folders and bind sources may appear mid-run.
 */
export function nodeModulesCachingHost(base: HostView = realHost): HostView {
  const inModules = (p: string): boolean => p.includes('/node_modules/') || p.endsWith('/node_modules');
  const memo = <T>(lookup: (p: string) => T): ((p: string) => T) => {
    const seen = new Map<string, T>();
    return (p) => {
      if (!inModules(p)) return lookup(p);
      if (!seen.has(p)) seen.set(p, lookup(p));
      return seen.get(p) as T;
    };
  };
  return {
    kind: memo((p) => base.kind(p)),
    readlink: memo((p) => base.readlink(p)),
    realpath: memo((p) => base.realpath(p)),
    list: memo((p) => base.list(p)),
  };
}
