// Which host paths Jest's process may open because a sandboxed file's result
// names them. Reporters read every coverage key (and the sources its source
// map names), and render a code frame of the top frame of some stacks: a
// child that could name any path could copy any file the Jest user can read
// into a report. Only real files inside the project's roots qualify, never
// one the sandbox hid from its own tests.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isUnder, realpathOrUndefined } from '../shared/paths';
import { jestModules } from '../shared/jest-modules';

export interface PathTrust {
  /** Why the host must not open `p`, or undefined when it may. */
  refuse(p: string): string | undefined;
}

export interface TrustOptions {
  /** The project's rootDir and roots. */
  roots: readonly string[];
  /** Paths the sandbox hid from the file (the `hide` option). */
  hidden: readonly string[];
  /**
   * Host folders the sandboxes write (Jest's cacheDirectory, which holds the
   * sandboxes' cache and the snapshot scratch folders), inside the roots when
   * the config puts the cache in the project: what is there may be a
   * sandbox's plant, not the project's own file.
   */
  written?: readonly string[];
  realpath?: (p: string) => string;
}

export function pathTrust({ roots, hidden, written = [], realpath = fs.realpathSync }: TrustOptions): PathTrust {
  const realRoots = roots.map((root) => realpathOrUndefined(realpath, root)).filter((root): root is string => root !== undefined);
  const realHidden = hidden.flatMap((p) => [p, realpathOrUndefined(realpath, p)]).filter((p): p is string => p !== undefined);
  const namedRoots = [...roots, ...realRoots];
  const realWritten = written.flatMap((p) => [p, realpathOrUndefined(realpath, p)]).filter((p): p is string => p !== undefined);
  const seen = new Map<string, string | undefined>();
  const decide = (p: string): string | undefined => {
    if (typeof p !== 'string' || p === '' || p.includes('\0')) return 'not a path';
    if (!path.isAbsolute(p)) return 'not an absolute path';
    // `..` or `//` in a key would make reporters write and read elsewhere than the key says.
    if (path.normalize(p) !== p) return 'not a normalized path';
    // By name first: resolving a path the child chose would tell it what exists
    // on the host, and could wake an automounter (/net/<host>/…).
    const outside = `lies outside the project's roots (${realRoots.join(', ')})`;
    if (!namedRoots.some((root) => isUnder(p, root))) return outside;
    const real = realpathOrUndefined(realpath, p);
    if (real === undefined) return 'does not exist on the host';
    if (!realRoots.some((root) => isUnder(real, root))) return outside;
    if (realHidden.some((h) => isUnder(p, h) || isUnder(real, h))) return 'is hidden from the sandbox';
    if (realWritten.some((w) => isUnder(p, w) || isUnder(real, w))) return 'lies in a folder the sandboxes write (Jest\'s cacheDirectory)';
    return undefined;
  };
  return {
    refuse(p) {
      // Console buffers repeat the same few frames thousands of times.
      if (!seen.has(p)) seen.set(p, decide(p));
      return seen.get(p);
    },
  };
}

interface StackUtilsLike {
  parseLine(line: string): { file?: string; evalOrigin?: string } | null;
}

let stackUtils: StackUtilsLike | undefined;

/** The stack parser jest-message-util uses, from the host's copy, so that we see frames exactly as Jest will. */
function parser(): StackUtilsLike {
  if (stackUtils) return stackUtils;
  const messageUtil = require.resolve('jest-message-util', { paths: [path.dirname(jestModules().jestRunner)] });
  const StackUtils = require(require.resolve('stack-utils', { paths: [path.dirname(messageUtil)] })) as new (options: { cwd: string }) => StackUtilsLike;
  stackUtils = new StackUtils({ cwd: 'something which does not exist' });
  return stackUtils;
}

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

function frameFile(file: string): string | undefined {
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return undefined;
  }
}

/**
 * A stack (or any text Jest may parse as one) without the frames that name
 * a file the host must not open: jest-message-util reads the top frame's
 * file to print a code frame. Frames naming relative paths stay (Jest only
 * reads absolute ones), and so do frames in node_modules, which it skips. Returns the text and the paths it dropped.
 */
export function trustStack(text: string, trust: PathTrust): { text: string; dropped: string[] } {
  const dropped: string[] = [];
  const kept = text.split('\n').filter((line) => {
    // jest-message-util never reads a frame in node_modules (getTopFrame skips them), and they are most frames.
    if (line.includes(NODE_MODULES)) return true;
    const frame = parser().parseLine(line.trim());
    if (!frame?.file) return true;
    const file = frameFile(frame.file);
    if (file === undefined) {
      dropped.push(frame.file);
      return false;
    }
    if (!path.isAbsolute(file) || trust.refuse(file) === undefined) return true;
    dropped.push(file);
    return false;
  });
  return { text: kept.join('\n'), dropped };
}
