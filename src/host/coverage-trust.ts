// Coverage from a sandboxed file, cut down to what Jest's process may act
// on. The CoverageReporter on the host reads every key of the coverage map
// (the html report embeds each source), writes one report file per key
// (a key with `..` writes outside the report), reads every v8 entry's url
// and source map, and every source a source map names. So an entry stays
// only when its key is its own path, a real file inside the project's roots,
// one Jest itself would instrument (collectCoverageFrom,
// coveragePathIgnorePatterns, test files excluded); source maps stay only
// when every source they name passes the same test, and a v8 map is read
// here once and handed to the reporter as a copy the sandboxes cannot reach.
// Every entry that stays is also rebuilt to the shape its readers need
// (coverage-shape.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestResult } from '@jest/test-result';
import type { Config } from '@jest/types';
import type { TestRunnerContext } from 'jest-runner';
import { isUnder } from '../shared/paths';
import { jestModules } from '../shared/jest-modules';
import { istanbulFileCoverage, v8ScriptCoverage } from './coverage-shape';
import type { PathTrust } from './path-trust';

/** A source map is code metadata: tens of megabytes would be extraordinary. */
const MAX_SOURCE_MAP_BYTES = 64 * 1024 * 1024;

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface CoverageTrustOptions {
  trust: PathTrust;
  /** Whether Jest would collect coverage for this file at all (its shouldInstrument). */
  collects(file: string): boolean;
  /** The sandboxes' cache: the only place a v8 source map may be read from. */
  sandboxCache: string;
  /** A host-only folder for the checked copies of v8 source maps; undefined: v8 source maps are dropped. */
  trustedMaps: string | undefined;
  warn(line: string): void;
}

type ShouldInstrument = (filename: string, options: Plain, config: Config.ProjectConfig) => boolean;

/** Jest's own decision (jest-runtime asks the same function for every module it loads), from the host's @jest/transform. */
export function jestCollects(config: Config.ProjectConfig, globalConfig: Config.GlobalConfig, context: TestRunnerContext): (file: string) => boolean {
  const transform = require.resolve('@jest/transform', { paths: [path.dirname(jestModules().jestRunner)] });
  const { shouldInstrument } = require(transform) as { shouldInstrument: ShouldInstrument };
  const options = {
    collectCoverage: globalConfig.collectCoverage,
    collectCoverageFrom: globalConfig.collectCoverageFrom,
    coverageProvider: globalConfig.coverageProvider,
    globalRootDir: globalConfig.rootDir,
    ...(context.changedFiles ? { changedFiles: context.changedFiles } : {}),
    ...(context.sourcesRelatedToTestsInChangedFiles ? { sourcesRelatedToTestsInChangedFiles: context.sourcesRelatedToTestsInChangedFiles } : {}),
  };
  return (file) => shouldInstrument(file, options, config);
}

/** Why the host must not act on coverage for `file`, or undefined. */
function refuseFile(file: unknown, options: CoverageTrustOptions): string | undefined {
  if (typeof file !== 'string') return 'the key is not a path';
  const refused = options.trust.refuse(file);
  if (refused !== undefined) return refused;
  if (!options.collects(file)) return 'Jest would not collect coverage for it (collectCoverageFrom, coveragePathIgnorePatterns, or a test file)';
  return undefined;
}

/**
 * Every path a source map can make a reporter read, as istanbul-lib-source-maps
 * (sourceRoot + source, against the covered file's folder) and
 * v8-to-istanbul (join(sourceRoot, source); file:// and webpack:// URLs)
 * resolve them. Undefined when a source is no path at all (another URL scheme).
 */
function mapSources(map: Plain, file: string): string[] | undefined {
  const { sources, sourceRoot } = map;
  if (!Array.isArray(sources) || (sourceRoot !== undefined && sourceRoot !== null && typeof sourceRoot !== 'string')) return undefined;
  const root = typeof sourceRoot === 'string' ? sourceRoot : '';
  if (/^[a-z][a-z0-9+.-]*:/i.test(root) && !root.startsWith('file://')) return undefined;
  const base = path.dirname(file);
  const found: string[] = [];
  for (const source of sources) {
    if (typeof source !== 'string') return undefined;
    if (source.startsWith('file://')) {
      try {
        found.push(fileURLToPath(source));
      } catch {
        return undefined;
      }
      continue;
    }
    const bare = source.replace(/^webpack:\/\//, '');
    if (/^[a-z][a-z0-9+.-]*:/i.test(bare)) return undefined;
    const plainRoot = root.replace('file://', '');
    found.push(path.resolve(base, path.join(plainRoot, bare)));
    found.push(path.resolve(base, plainRoot === '' ? bare : `${plainRoot.replace(/\/?$/, '/')}${bare}`));
  }
  return found;
}

function refuseMap(map: unknown, file: string, trust: PathTrust): string | undefined {
  if (!isPlain(map)) return 'it is not a source map object';
  const sources = mapSources(map, file);
  if (sources === undefined) return 'it names a source that is not a file path';
  for (const source of sources) {
    const refused = trust.refuse(source);
    if (refused !== undefined) return `its source ${JSON.stringify(source)} ${refused}`;
  }
  return undefined;
}

function babelCoverage(raw: unknown, options: CoverageTrustOptions): TestResult['coverage'] {
  if (raw === undefined || raw === null) return undefined;
  if (!isPlain(raw)) {
    options.warn('dropped the coverage map: it is not an object');
    return undefined;
  }
  const kept: Plain = {};
  for (const [key, data] of Object.entries(raw)) {
    if (!isPlain(data)) {
      options.warn(`dropped coverage for ${JSON.stringify(key)}: it is not coverage data`);
      continue;
    }
    const entry = istanbulFileCoverage(data);
    const refused = data.path !== key ? `its path is ${JSON.stringify(data.path)}, not its key` : refuseFile(key, options) ?? (entry ? undefined : 'it is not istanbul coverage data');
    if (refused !== undefined || entry === undefined) {
      options.warn(`dropped coverage for ${JSON.stringify(key)}: ${refused}`);
      continue;
    }
    if (entry.inputSourceMap !== undefined) {
      const mapRefused = refuseMap(entry.inputSourceMap, key, options.trust);
      if (mapRefused !== undefined) {
        options.warn(`dropped the source map of ${key}'s coverage (the coverage stays, unmapped): ${mapRefused}`);
        delete entry.inputSourceMap;
      }
    }
    kept[key] = entry;
  }
  return Object.keys(kept).length > 0 ? (kept as TestResult['coverage']) : undefined;
}

/** Linux's O_PATH, which Node does not export: a handle on a path that opens nothing. */
const O_PATH = 0o10000000;

/**
 * The text of `file` if, as it is at the moment of reading, it is a regular
 * file of at most `limit` bytes inside `folder`; else why not. The sandboxes
 * write that folder, so a check of the path before opening it would race
 * against one swapping a folder on the way for a link: the path is pinned by
 * an O_PATH handle first (which opens no device and blocks on no FIFO), the
 * check is made on what that handle holds, and only then is it opened.
 */
function readPinnedFileUnder(file: string, folder: string, limit: number): { text: string } | { refused: string } {
  let pin: number;
  try {
    pin = fs.openSync(file, O_PATH | fs.constants.O_NOFOLLOW);
  } catch {
    return { refused: 'it does not exist' };
  }
  try {
    const held = fs.readlinkSync(`/proc/self/fd/${pin}`);
    if (!isUnder(held, folder) || held === folder) return { refused: `it lies outside the sandboxes' cache ${folder}` };
    const stat = fs.fstatSync(pin);
    if (!stat.isFile() || stat.size > limit) return { refused: `it is not a regular file of at most ${limit} bytes` };
    // Reopened through the handle: the same inode, whatever the path is now. One byte
    // more than fstat saw is room to notice a file still growing, which is refused.
    const fd = fs.openSync(`/proc/self/fd/${pin}`, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const buffer = Buffer.alloc(stat.size + 1);
      let length = 0;
      while (length < buffer.length) {
        const n = fs.readSync(fd, buffer, length, buffer.length - length, null);
        if (n === 0) break;
        length += n;
      }
      if (length > stat.size) return { refused: 'it grew while it was read' };
      return { text: buffer.toString('utf8', 0, length) };
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    return { refused: `it could not be read (${error instanceof Error ? error.message : String(error)})` };
  } finally {
    fs.closeSync(pin);
  }
}

/** A checked copy of a v8 entry's source map in the host-only folder, or why there is none. */
function trustedMapCopy(sourceMapPath: unknown, file: string, options: CoverageTrustOptions): { copy: string } | { refused: string } {
  if (typeof sourceMapPath !== 'string') return { refused: 'its path is not a string' };
  if (options.trustedMaps === undefined) return { refused: 'no host-only folder for checked source maps' };
  // By name first, as for every path a child names (see path-trust.ts).
  if (!path.isAbsolute(sourceMapPath) || path.normalize(sourceMapPath) !== sourceMapPath || !isUnder(sourceMapPath, options.sandboxCache)) {
    return { refused: `it lies outside the sandboxes' cache ${options.sandboxCache}` };
  }
  const read = readPinnedFileUnder(sourceMapPath, options.sandboxCache, MAX_SOURCE_MAP_BYTES);
  if ('refused' in read) return read;
  const { text } = read;
  let map: unknown;
  try {
    map = JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value));
  } catch {
    return { refused: 'it is not JSON' };
  }
  const refused = refuseMap(map, file, options.trust);
  if (refused !== undefined) return { refused };
  // Jest sets `file` to the covered path; a `file` of the map's own would override it.
  const { file: _ignored, ...checked } = map as Plain;
  const body = JSON.stringify(checked);
  const copy = path.join(options.trustedMaps, `${crypto.createHash('sha256').update(body).digest('hex')}.map`);
  try {
    if (!fs.existsSync(copy)) {
      const temp = `${copy}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
      fs.writeFileSync(temp, body, { mode: 0o600, flag: 'wx' });
      fs.renameSync(temp, copy);
    }
  } catch (error) {
    return { refused: `its checked copy could not be written to ${options.trustedMaps}: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { copy };
}

function v8Coverage(raw: unknown, options: CoverageTrustOptions): TestResult['v8Coverage'] {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    options.warn('dropped the v8 coverage: it is not an array');
    return undefined;
  }
  const kept: Plain[] = [];
  for (const entry of raw) {
    const script = isPlain(entry) ? entry.result : undefined;
    const url = isPlain(script) ? script.url : undefined;
    const refusedFile = refuseFile(url, options);
    const result = isPlain(script) && refusedFile === undefined ? v8ScriptCoverage(script, url as string) : undefined;
    const refused = refusedFile ?? (result ? undefined : 'it is not a v8 coverage entry');
    if (refused !== undefined || result === undefined) {
      options.warn(`dropped v8 coverage for ${JSON.stringify(url)}: ${refused}`);
      continue;
    }
    const file = url as string;
    const transform = (entry as Plain).codeTransformResult;
    if (transform === undefined || transform === null) {
      kept.push({ result });
      continue;
    }
    if (!isPlain(transform) || typeof transform.code !== 'string' || typeof transform.originalCode !== 'string') {
      options.warn(`dropped v8 coverage for ${JSON.stringify(file)}: its code transform result is malformed`);
      continue;
    }
    const wrapperLength = typeof transform.wrapperLength === 'number' && Number.isSafeInteger(transform.wrapperLength) && transform.wrapperLength >= 0 ? transform.wrapperLength : 0;
    let sourceMapPath: string | null = null;
    if (transform.sourceMapPath !== null && transform.sourceMapPath !== undefined) {
      const copied = trustedMapCopy(transform.sourceMapPath, file, options);
      if ('copy' in copied) sourceMapPath = copied.copy;
      else options.warn(`dropped the source map of ${file}'s v8 coverage (the coverage stays, unmapped): ${copied.refused}`);
    }
    kept.push({ codeTransformResult: { code: transform.code, originalCode: transform.originalCode, sourceMapPath, wrapperLength }, result });
  }
  return kept.length > 0 ? (kept as unknown as TestResult['v8Coverage']) : undefined;
}

export function trustCoverage(coverage: unknown, v8: unknown, options: CoverageTrustOptions): Pick<TestResult, 'coverage' | 'v8Coverage'> {
  const out: Pick<TestResult, 'coverage' | 'v8Coverage'> = {};
  const babel = babelCoverage(coverage, options);
  if (babel !== undefined) out.coverage = babel;
  const fromV8 = v8Coverage(v8, options);
  if (fromV8 !== undefined) out.v8Coverage = fromV8;
  return out;
}

/** The host-only folder for checked v8 source maps: beside, never inside, the cache the sandboxes write. */
export function trustedMapsFolder(jestCacheDirectory: string, sandboxCache: string): string | undefined {
  const dir = path.join(jestCacheDirectory, 'mount-sandbox-checked-maps');
  if (isUnder(dir, sandboxCache) || isUnder(sandboxCache, dir)) return undefined;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(dir);
    return stat.isDirectory() && stat.uid === process.getuid?.() ? dir : undefined;
  } catch {
    return undefined;
  }
}
