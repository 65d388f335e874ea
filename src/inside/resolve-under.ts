// Paths inside a root that is being built, resolved as the finished sandbox
// will resolve them. Synchronous: the interpreter (setup.ts) runs before
// anything may touch the libuv threadpool.
import fs from 'node:fs';
import path from 'node:path';

/** Linux's limit on symlinks followed in one lookup (MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * `p`, a path inside the sandbox, as a path below `root` with no symlink on
 * the way: each one is resolved as the finished sandbox will see it (an
 * absolute target from `root`, `..` never above it). The last component is
 * followed only when `followLast` is set; callers that mount on it check it
 * themselves.
 *
 * Why not let the kernel follow them: while the root is built, `/` is the
 * base tmpfs and the host's root is at /oldroot, so a symlink in the project
 * (or anywhere a bind brings in) to `/oldroot/…`, or a relative one that
 * climbs out, would make the init, which holds every capability over the
 * host's files the user may reach, create mount points on the host.
 */
export function resolveUnder(root: string, p: string, followLast = false): string {
  const todo = p.split('/').filter((name) => name !== '' && name !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const name = todo.shift() as string;
    if (name === '..') {
      done.pop();
      continue;
    }
    const here = path.join(root, ...done, name);
    const stat = todo.length === 0 && !followLast ? undefined : lstatOrUndefined(here);
    if (!stat?.isSymbolicLink()) {
      done.push(name);
      continue;
    }
    if (++links > MAX_LINKS) {
      throw Object.assign(new Error(`ELOOP: more than ${MAX_LINKS} symlinks on the way to ${p} inside the sandbox`), { code: 'ELOOP', syscall: 'readlink' });
    }
    const target = fs.readlinkSync(here);
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/').filter((part) => part !== '' && part !== '.'));
  }
  return path.join(root, ...done);
}

/** A path that cannot be looked at (missing, a file on the way, no search permission) is no symlink: the caller's own call then fails on it, in its words. */
function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}
