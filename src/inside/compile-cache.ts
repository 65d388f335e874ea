// V8 code cache for the modules the sandboxed child loads (Jest, Babel,
// this package). Every test file starts a fresh Node, and compiling Jest's
// modules is a good part of what that costs; Node 20 has no built-in module
// compile cache, so we hook Module.prototype._compile as v8-compile-cache
// does. The cache lives in Jest's cacheDirectory, which is writable inside
// every sandbox and shared between them. V8 checks an entry only against its
// version, its flags and the source's length: a damaged entry that passes
// those kills the process (a fatal error in its deserializer), so each entry
// carries a digest of its name and data, checked before V8 sees it (see
// readCacheEntry), and a bad one is compiled as usual.
import crypto from 'node:crypto';
import fs from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

interface InternalModule {
  exports: unknown;
  require(id: string): unknown;
  _compile(content: string, filename: string): unknown;
}

interface ModuleStatics {
  wrap(content: string): string;
  _resolveFilename(request: string, parent: InternalModule, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: InternalModule): string[] | null;
  _extensions: unknown;
  _cache: unknown;
}

const statics = Module as unknown as ModuleStatics;
const proto = (Module as unknown as { prototype: InternalModule }).prototype;

interface Pending {
  file: string;
  script: vm.Script;
}

let pending: Pending[] = [];
let cacheDir: string | undefined;

function makeRequire(module: InternalModule): NodeJS.Require {
  const require = ((id: string) => module.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: { paths?: string[] }) => statics._resolveFilename(request, module, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => statics._resolveLookupPaths(request, module);
  require.resolve = resolve;
  require.main = process.mainModule;
  require.extensions = statics._extensions as NodeJS.Require['extensions'];
  require.cache = statics._cache as NodeJS.Require['cache'];
  return require;
}

function cacheFileFor(dir: string, filename: string, content: string): string {
  const key = crypto.createHash('sha1').update(filename).update('\0').update(content).digest('hex');
  return path.join(dir, key.slice(0, 2), key);
}

/** Starts caching compiled code for modules required from now on, under `dir`. */
export function installCompileCache(dir: string): void {
  if (cacheDir !== undefined) return;
  cacheDir = path.join(dir, `${process.version}-${process.arch}`);
  const cached = cacheDir;
  const original = proto._compile;
  proto._compile = function compileWithCache(this: InternalModule, content: string, filename: string): unknown {
    if (!filename.endsWith('.js') && !filename.endsWith('.cjs')) return original.call(this, content, filename);
    const file = cacheFileFor(cached, filename, content);
    const entry = readCacheEntry(file);
    const cachedData = entry === 'damaged' ? undefined : entry;
    // A shebang is valid only as a script's first line, not inside the module wrapper.
    const source = content.startsWith('#!') ? `//${content.slice(2)}` : content;
    const script = new vm.Script(statics.wrap(source), {
      filename,
      ...(cachedData ? { cachedData } : {}),
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if (cachedData === undefined || script.cachedDataRejected === true) pending.push({ file, script });
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, makeRequire(this), this, filename, path.dirname(filename));
  };
}

const DIGEST_BYTES = 32;

/** The digest an entry starts with: of its file name (the key: the sha1 of what was compiled) and its data. */
function entryDigest(file: string, data: Buffer): Buffer {
  return crypto.createHash('sha256').update(path.basename(file)).update('\0').update(data).digest();
}

/**
 * An entry's V8 data: undefined when there is none, `damaged` when the file
 * does not carry its own digest (cut short, changed, or another entry's
 * data under this name). It guards against damage, not against a sandbox
 * that writes a well-formed entry of its own: any sandbox of the project can,
 * as it can write Jest's transform cache (see the security model).
 */
export function readCacheEntry(file: string): Buffer | 'damaged' | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  if (bytes.length <= DIGEST_BYTES) return 'damaged';
  const data = bytes.subarray(DIGEST_BYTES);
  return crypto.timingSafeEqual(bytes.subarray(0, DIGEST_BYTES), entryDigest(file, data)) ? data : 'damaged';
}

/**
 * Writes one cache entry, never a torn one. A cache that cannot be written
 * costs speed, never correctness. Shared with vm-code-cache.ts.
 */
export function writeCacheEntry(file: string, data: Buffer): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Not the pid alone: sandboxes are separate pid namespaces, where pids repeat.
    const temp = `${file}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(temp, Buffer.concat([entryDigest(file, data), data]));
    // Sandboxes share the folder: rename is atomic, so a reader sees all of a file or none.
    fs.renameSync(temp, file);
  } catch {
    // Speed only.
  }
}

/** Writes the code compiled since the last flush; after the test ran, so lazily compiled functions are included. */
export function flushCompileCache(): void {
  const toWrite = pending;
  pending = [];
  for (const { file, script } of toWrite) writeCacheEntry(file, script.createCachedData());
}
