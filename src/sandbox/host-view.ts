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
