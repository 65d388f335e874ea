// V8 code cache for what jest-runtime compiles in the test's vm context:
// jest-circus's adapter, expect, jest-snapshot and every module a test
// requires. A warm Jest worker has V8's in-isolate compilation cache; each
// sandboxed file is a fresh process and compiles all of them from scratch.
//
// jest-runtime compiles CommonJS with vm.compileFunction, whose code cache
// Node can make only right after compiling (so without the functions that
// run compiles lazily, which is most of the cost). So, like Node's own CJS
// loader did for years, this compiles the same function as a vm.Script
// `(function (<params>) {\n<code>\n})` with lineOffset -1, so every line
// and column is where compileFunction puts it, and after the test ran saves
// script.createCachedData(), which includes what ran.
//
// Entries live in the sandboxes' cache, named by the sha1 of the V8 version,
// the V8 flags, the file name, the parameters and the code. Any sandbox can
// write there, as it can write Jest's transform cache next to it. V8 checks
// an entry only against its version, flags and the source's length, and
// dies on damaged data that passes those, so an entry must first carry its
// own digest (readCacheEntry); what fails either check compiles as usual.
import crypto from 'node:crypto';
import path from 'node:path';
import vm from 'node:vm';
import { readCacheEntry, writeCacheEntry } from './compile-cache';

type CompileFunction = typeof vm.compileFunction;
type CompileOptions = NonNullable<Parameters<CompileFunction>[2]>;

interface Pending {
  file: string;
  script: vm.Script;
}

export interface VmCodeCacheStats {
  installed: boolean;
  /** Compiles that used an entry. */
  used: number;
  /** Entries refused: damaged (no digest of their own), or by V8 (another build). */
  rejected: number;
  /** Compiles with no entry yet. */
  missing: number;
}

export const vmCodeCacheStats: VmCodeCacheStats = { installed: false, used: 0, rejected: 0, missing: 0 };

let pending: Pending[] = [];

/** What jest-runtime passes; with anything else (or another Jest passing more) the compile is left to Node as it is. */
const KNOWN_OPTIONS = new Set(['filename', 'parsingContext', 'importModuleDynamically']);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/** A keyword cannot be written with escapes, so every dynamic import() has this text; other matches only cost caching. */
const IMPORT_KEYWORD = /(?<![\w$])import(?![\w$])/;

function eligible(code: unknown, params: unknown, options: CompileOptions | undefined): options is CompileOptions & { filename: string } {
  return typeof code === 'string' && Array.isArray(params) && params.every((p) => typeof p === 'string' && IDENTIFIER.test(p))
    && typeof options?.filename === 'string' && path.isAbsolute(options.filename)
    && Object.keys(options).every((key) => KNOWN_OPTIONS.has(key));
}

/**
 * Wraps vm.compileFunction, from now on, to use and keep code cache under
 * `dir`. Off with MOUNT_SANDBOX_VM_CODE_CACHE=0 (the caller checks).
 */
export function installVmCodeCache(dir: string): void {
  if (vmCodeCacheStats.installed) return;
  // V8 refuses data from another version or other flags anyway; separate folders keep them from overwriting each other.
  const build = crypto.createHash('sha1').update(`${process.versions.v8}\0${process.arch}\0${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`).digest('hex').slice(0, 16);
  const root = path.join(dir, `${process.version}-${build}`);
  const original = vm.compileFunction;
  const compileFunction = function compileWithCodeCache(code: string, params?: readonly string[], options?: CompileOptions): ReturnType<CompileFunction> {
    // Node 20 loses a script's dynamic import callback when V8 takes its code from cached data ("A dynamic
    // import callback was not specified"). Only code with the keyword `import` can import: leave that to Node.
    if (!eligible(code, params, options) || IMPORT_KEYWORD.test(code)) return original.call(vm, code, params as string[], options);
    const names = params as readonly string[];
    const key = crypto.createHash('sha1').update(options.filename).update('\0').update(names.join(',')).update('\0').update(code).digest('hex');
    const file = path.join(root, key.slice(0, 2), key);
    const entry = readCacheEntry(file);
    const cachedData = entry === 'damaged' ? undefined : entry;
    let script: vm.Script;
    try {
      script = new vm.Script(`(function (${names.join(', ')}) {\n${code}\n})`, {
        filename: options.filename,
        lineOffset: -1,
        ...(cachedData ? { cachedData } : {}),
        ...(options.importModuleDynamically ? { importModuleDynamically: options.importModuleDynamically as vm.ScriptOptions['importModuleDynamically'] } : {}),
      });
    } catch {
      // A syntax error: let compileFunction throw it, in its own words (jest-runtime tells ESM from other errors by them).
      return original.call(vm, code, params as string[], options);
    }
    const fromCache = cachedData !== undefined && script.cachedDataRejected !== true;
    if (entry === undefined) vmCodeCacheStats.missing += 1;
    else if (fromCache) vmCodeCacheStats.used += 1;
    else vmCodeCacheStats.rejected += 1;
    if (!fromCache) {
      // Without an entry, compileFunction first: it throws what Jest expects for a bad body, and refuses code that
      // would close the wrapper early and run outside it. An entry exists only for code it accepted.
      original.call(vm, code, params as string[], options);
      pending.push({ file, script });
    }
    const context = options.parsingContext;
    return (context ? script.runInContext(context) : script.runInThisContext()) as ReturnType<CompileFunction>;
  } as CompileFunction;
  vm.compileFunction = compileFunction;
  vmCodeCacheStats.installed = true;
}

/** Writes the code cache of the scripts compiled since the last flush; after the test ran, so what ran is in it. */
export function flushVmCodeCache(): void {
  const toWrite = pending;
  pending = [];
  for (const { file, script } of toWrite) writeCacheEntry(file, script.createCachedData());
}
