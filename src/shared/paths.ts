// Path helpers shared by validation, defaults and resolution.

/** True when `child` is `parent` or lies below it. */
export function isUnder(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent === '/' ? '/' : `${parent}/`);
}

/** The realpath, or undefined where there is none (a missing path, a dangling symlink). */
export function realpathOrUndefined(realpath: (p: string) => string, p: string): string | undefined {
  try {
    return realpath(p);
  } catch {
    return undefined;
  }
}
