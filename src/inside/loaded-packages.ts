// Which npm packages the child has loaded with Node's require, for the debug
// output: what proves that a transform-cache hit loaded nothing of the
// transformer (no @babel/core, no typescript), whoever would have loaded it.
// Jest's vm-side modules (the test's own requires) are not in require.cache.

/** `name` or `@scope/name` of the innermost node_modules package a file is in. */
export function packageOf(file: string): string | undefined {
  const at = file.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const [first, second] = file.slice(at + '/node_modules/'.length).split('/');
  if (first === undefined || second === undefined) return undefined;
  return first.startsWith('@') ? `${first}/${second}` : first;
}

export function loadedPackages(files: readonly string[] = Object.keys(require.cache)): string[] {
  const names = new Set<string>();
  for (const file of files) {
    const name = packageOf(file);
    if (name !== undefined) names.add(name);
  }
  return [...names].sort();
}
