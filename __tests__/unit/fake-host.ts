// An in-memory HostView: a map of path → node, with lstat-like kind(),
// readlink(), realpath() that follows symlinks (relative or absolute) in
// every component and throws on a missing path, and list() of a directory.
import path from 'node:path';
import type { HostView, PathKind } from '../../src/host/defaults';

/** 'dir', 'file', or '-> TARGET' for a symlink. */
export type FakeTree = Record<string, string>;

type Node = { kind: 'dir' } | { kind: 'file' } | { kind: 'symlink'; target: string };

export class FakeHost implements HostView {
  private readonly nodes = new Map<string, Node>([['/', { kind: 'dir' }]]);
  constructor(tree: FakeTree) {
    for (const [p, spec] of Object.entries(tree)) {
      if (!path.isAbsolute(p) || path.normalize(p) !== p) throw new Error(`fake host: bad path ${p}`);
      for (let dir = path.dirname(p); !this.nodes.has(dir); dir = path.dirname(dir)) this.nodes.set(dir, { kind: 'dir' });
      if (spec === 'dir' || spec === 'file') this.nodes.set(p, { kind: spec });
      else if (spec.startsWith('-> ')) this.nodes.set(p, { kind: 'symlink', target: spec.slice(3) });
      else throw new Error(`fake host: bad node ${spec}`);
    }
  }

  private lstat(p: string): Node | undefined {
    const normal = path.normalize(p);
    if (normal === '/') return this.nodes.get('/');
    let parent: string;
    try {
      parent = this.resolve(path.dirname(normal), 0);
    } catch {
      return undefined;
    }
    return this.nodes.get(path.join(parent, path.basename(normal)));
  }

  private resolve(p: string, depth: number): string {
    if (depth > 40) throw Object.assign(new Error(`ELOOP: ${p}`), { code: 'ELOOP' });
    let current = '/';
    for (const part of path.normalize(p).split('/').filter((s) => s !== '')) {
      if (part === '..') {
        current = path.dirname(current);
        continue;
      }
      const next = path.join(current, part);
      const node = this.nodes.get(next);
      if (node === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, realpath '${p}'`), { code: 'ENOENT' });
      current = node.kind === 'symlink' ? this.resolve(path.resolve(current, node.target), depth + 1) : next;
    }
    return current;
  }

  kind(p: string): PathKind {
    return this.lstat(p)?.kind ?? 'missing';
  }

  readlink(p: string): string {
    const node = this.lstat(p);
    if (node?.kind !== 'symlink') throw Object.assign(new Error(`EINVAL: readlink '${p}'`), { code: 'EINVAL' });
    return node.target;
  }

  realpath(p: string): string {
    return this.resolve(p, 0);
  }

  list(dir: string): string[] {
    let real: string;
    try {
      real = this.resolve(dir, 0);
    } catch {
      return [];
    }
    if (this.nodes.get(real)?.kind !== 'dir') return [];
    return [...this.nodes.keys()].filter((p) => p !== '/' && path.dirname(p) === real).map((p) => path.basename(p)).sort();
  }
}
