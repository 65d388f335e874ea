// Coverage data from a sandboxed file, rebuilt field by field into the shape
// that istanbul-lib-coverage and @bcoe/v8-coverage read. Those libraries
// trust their input: istanbul's merge destructures every location and looks
// up every hit counter's map entry, and v8's merge reads every function's
// ranges. They run in Jest's process when a later file's coverage is merged
// or at the end of the run, outside any per-file error handling, so one
// malformed entry would fail another file or end the whole run. An entry that
// does not have the shape is dropped (undefined), never repaired into a guess.

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

interface Position {
  line?: number;
  column?: number;
}

interface Location {
  start: Position;
  end: Position;
}

/**
 * istanbul leaves out `line` and `column` where it has none (the missing
 * `else` of an `if` is `{start: {}, end: {}}`), and its readers accept that;
 * what they cannot survive is `start` or `end` not being an object.
 */
function position(raw: unknown): Position | undefined {
  if (!isPlain(raw)) return undefined;
  const out: Position = {};
  for (const key of ['line', 'column'] as const) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
    out[key] = value;
  }
  return out;
}

function location(raw: unknown): Location | undefined {
  if (!isPlain(raw)) return undefined;
  const start = position(raw.start);
  const end = position(raw.end);
  return start && end ? { start, end } : undefined;
}

/** Each value of `raw` rebuilt by `rebuild`, or undefined if any of them cannot be. */
function each<T>(raw: unknown, rebuild: (value: unknown) => T | undefined): Record<string, T> | undefined {
  if (!isPlain(raw)) return undefined;
  const out: Record<string, T> = {};
  for (const [key, value] of Object.entries(raw)) {
    const rebuilt = rebuild(value);
    if (rebuilt === undefined) return undefined;
    out[key] = rebuilt;
  }
  return out;
}

function sameKeys(a: Plain, b: Plain): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key));
}

function fnMeta(raw: unknown): Plain | undefined {
  if (!isPlain(raw)) return undefined;
  const loc = location(raw.loc);
  if (loc === undefined) return undefined;
  const decl = raw.decl === undefined ? loc : location(raw.decl);
  if (decl === undefined) return undefined;
  return { name: typeof raw.name === 'string' ? raw.name : '(anonymous)', decl, loc, line: isCount(raw.line) ? raw.line : loc.start.line };
}

function branchMeta(raw: unknown): (Plain & { locations: Location[] }) | undefined {
  if (!isPlain(raw) || !Array.isArray(raw.locations) || raw.locations.length === 0) return undefined;
  const locations = raw.locations.map(location);
  if (!locations.every((l): l is Location => l !== undefined)) return undefined;
  const loc = raw.loc === undefined ? locations[0] : location(raw.loc);
  if (loc === undefined) return undefined;
  return { loc, type: typeof raw.type === 'string' ? raw.type : 'branch', locations, line: isCount(raw.line) ? raw.line : loc.start.line };
}

const counts = (raw: unknown): number[] | undefined => (Array.isArray(raw) && raw.every(isCount) ? [...raw] : undefined);

/**
 * An istanbul file coverage object with only the fields istanbul defines, or
 * undefined. Its `inputSourceMap` is carried over as it is: the caller checks
 * what it names.
 */
export function istanbulFileCoverage(raw: Plain): Plain | undefined {
  const statementMap = each(raw.statementMap, location);
  const fnMap = each(raw.fnMap, fnMeta);
  const branchMap = each(raw.branchMap, branchMeta);
  const s = each(raw.s, (v) => (isCount(v) ? v : undefined));
  const f = each(raw.f, (v) => (isCount(v) ? v : undefined));
  const b = each(raw.b, counts);
  if (!statementMap || !fnMap || !branchMap || !s || !f || !b) return undefined;
  // Every counter needs its map entry (merge looks it up), every entry its counter (reports read it).
  if (!sameKeys(s, statementMap) || !sameKeys(f, fnMap) || !sameKeys(b, branchMap)) return undefined;
  if (!Object.entries(b).every(([key, hits]) => hits.length === branchMap[key].locations.length)) return undefined;
  const out: Plain = { path: raw.path, statementMap, fnMap, branchMap, s, f, b };
  if (raw.bT !== undefined) {
    const bT = each(raw.bT, counts);
    if (!bT || !sameKeys(bT, branchMap)) return undefined;
    out.bT = bT;
  }
  if (typeof raw.hash === 'string') out.hash = raw.hash;
  if (typeof raw._coverageSchema === 'string') out._coverageSchema = raw._coverageSchema;
  if (typeof raw.all === 'boolean') out.all = raw.all;
  if (raw.inputSourceMap !== undefined) out.inputSourceMap = raw.inputSourceMap;
  return out;
}

function v8Range(raw: unknown): Plain | undefined {
  if (!isPlain(raw) || !isOffset(raw.startOffset) || !isOffset(raw.endOffset) || !isOffset(raw.count) || raw.endOffset < raw.startOffset) return undefined;
  return { startOffset: raw.startOffset, endOffset: raw.endOffset, count: raw.count };
}

function v8Function(raw: unknown): Plain | undefined {
  if (!isPlain(raw) || !Array.isArray(raw.ranges) || raw.ranges.length === 0) return undefined;
  const ranges = raw.ranges.map(v8Range);
  if (!ranges.every((r): r is Plain => r !== undefined)) return undefined;
  return { functionName: typeof raw.functionName === 'string' ? raw.functionName : '', isBlockCoverage: raw.isBlockCoverage === true, ranges };
}

/** A v8 ScriptCoverage with only the fields the inspector defines, or undefined. */
export function v8ScriptCoverage(raw: Plain, url: string): Plain | undefined {
  if (!Array.isArray(raw.functions)) return undefined;
  const functions = raw.functions.map(v8Function);
  if (!functions.every((f): f is Plain => f !== undefined)) return undefined;
  return { scriptId: typeof raw.scriptId === 'string' ? raw.scriptId : '0', url, functions };
}
