// Rebuilds a test file's TestResult from what its sandboxed child sent, which
// test code can forge. Jest adds every file's counts into the run's totals
// and decides the exit code from them, so a count of -1 in one file would
// cancel another file's failure. Here every count is recomputed from the
// assertion results (as jest-circus and jest-runner compute them), a claim
// that disagrees or is not a count fails the file, only known fields are
// copied, and the result can only describe the file it was sent for.
// Pure: paths are judged by the functions the caller passes in.
import type { AssertionResult, SerializableError, TestCaseResult, TestEvents, TestResult } from '@jest/test-result';
import type { Config } from '@jest/types';

/** The child's result cannot be trusted as it stands; the file fails with this message. */
export class UntrustedResult extends Error {}

export interface SanitizeContext {
  /** The file this result is for. */
  testPath: string;
  /** From the host's config, never from the child. */
  displayName?: Config.DisplayName;
  /** Removes what the host must not open from text Jest parses as a stack, and bounds it (parsed-text.ts). */
  trustStack(text: string, where: string): string;
  /** Bounds other text reporters may parse or print (failure messages, titles), as parsed-text.ts says. */
  boundText(text: string): string;
  /** trustStack for a console origin, which Jest drops once it is printed. */
  trustOrigin(text: string, where: string): string;
  /** Bounds an assertion's failureDetails, which Jest keeps to the end of the run. */
  boundDetails(details: unknown[]): unknown[];
  /** Keeps only the coverage the host may act on. */
  trustCoverage(coverage: unknown, v8Coverage: unknown): Pick<TestResult, 'coverage' | 'v8Coverage'>;
}

type Plain = Record<string, unknown>;

const STATUSES = new Set<AssertionResult['status']>(['passed', 'failed', 'skipped', 'pending', 'todo', 'disabled', 'focused']);
const CONSOLE_TYPES = new Set(['assert', 'count', 'debug', 'dir', 'dirxml', 'error', 'group', 'groupCollapsed', 'info', 'log', 'time', 'warn']);

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(where: string, value: unknown, expected: string): never {
  let shown: string;
  try {
    shown = JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    shown = typeof value;
  }
  throw new UntrustedResult(`${where} is ${shown}, expected ${expected}`);
}

function count(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(where, value, 'a count (an integer >= 0)');
  return value;
}

function string(value: unknown, where: string): string {
  if (typeof value !== 'string') fail(where, value, 'a string');
  return value;
}

function strings(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) fail(where, value, 'an array of strings');
  return value.map((item, i) => string(item, `${where}[${i}]`));
}

function optionalNumber(value: unknown, where: string): number | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(where, value, 'a finite number or null');
  return value;
}

function optionalBoolean(value: unknown, where: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') fail(where, value, 'a boolean');
  return value;
}

/** Copies only the fields that are set, so that the rebuilt object has no `key: undefined` noise. */
function defined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

export function sanitizeError(raw: unknown, where: string, trustStack: SanitizeContext['trustStack']): SerializableError {
  if (!isPlain(raw)) fail(where, raw, 'an error object');
  const code = raw.code;
  return defined({
    message: trustStack(string(raw.message, `${where}.message`), `${where}.message`),
    stack: typeof raw.stack === 'string' ? trustStack(raw.stack, `${where}.stack`) : '',
    type: typeof raw.type === 'string' ? raw.type : 'Error',
    code: typeof code === 'string' || typeof code === 'number' ? code : undefined,
  } as SerializableError);
}

function location(raw: unknown, where: string): AssertionResult['location'] {
  if (raw === undefined || raw === null) return raw;
  if (!isPlain(raw)) fail(where, raw, 'a location {line, column}');
  return { line: count(raw.line, `${where}.line`), column: count(raw.column, `${where}.column`) };
}

export function sanitizeAssertion(raw: unknown, where: string, text: Pick<SanitizeContext, 'trustStack' | 'boundText' | 'boundDetails'>): AssertionResult {
  const { trustStack, boundText, boundDetails } = text;
  if (!isPlain(raw)) fail(where, raw, 'an assertion result');
  if (!STATUSES.has(raw.status as AssertionResult['status'])) fail(`${where}.status`, raw.status, [...STATUSES].join(' | '));
  const retryReasons = raw.retryReasons === undefined ? undefined : strings(raw.retryReasons, `${where}.retryReasons`).map((reason, i) => trustStack(reason, `${where}.retryReasons[${i}]`));
  return defined({
    ancestorTitles: strings(raw.ancestorTitles, `${where}.ancestorTitles`).map(boundText),
    duration: optionalNumber(raw.duration, `${where}.duration`),
    startAt: optionalNumber(raw.startAt, `${where}.startAt`),
    failing: optionalBoolean(raw.failing, `${where}.failing`),
    // Details are plain data (the channel decodes JSON only); reporters print failureMessages, not these.
    failureDetails: raw.failureDetails === undefined ? [] : Array.isArray(raw.failureDetails) ? boundDetails(raw.failureDetails) : fail(`${where}.failureDetails`, raw.failureDetails, 'an array'),
    failureMessages: raw.failureMessages === undefined ? [] : strings(raw.failureMessages, `${where}.failureMessages`).map(boundText),
    fullName: boundText(string(raw.fullName, `${where}.fullName`)),
    invocations: raw.invocations === undefined ? undefined : count(raw.invocations, `${where}.invocations`),
    location: location(raw.location, `${where}.location`),
    numPassingAsserts: raw.numPassingAsserts === undefined ? 0 : count(raw.numPassingAsserts, `${where}.numPassingAsserts`),
    retryMessages: raw.retryMessages === undefined ? undefined : strings(raw.retryMessages, `${where}.retryMessages`).map(boundText),
    retryReasons,
    status: raw.status as AssertionResult['status'],
    title: boundText(string(raw.title, `${where}.title`)),
    wouldRun: optionalBoolean(raw.wouldRun, `${where}.wouldRun`),
  } as AssertionResult);
}

export function sanitizeCaseResult(raw: unknown, text: Pick<SanitizeContext, 'trustStack' | 'boundText' | 'boundDetails'>): TestCaseResult {
  const assertion = sanitizeAssertion(raw, 'test-case-result', text);
  const startedAt = optionalNumber((raw as Plain).startedAt, 'test-case-result.startedAt');
  return defined({ ...assertion, startedAt });
}

type CaseStartInfo = TestEvents['test-case-start'][1];
const MODES = new Set<unknown>([undefined, null, 'skip', 'only', 'todo']);

/** A test-case-start event's info, rebuilt from the fields Jest defines (reporters print its titles). */
export function sanitizeCaseStart(raw: unknown, boundText: SanitizeContext['boundText']): CaseStartInfo {
  const where = 'test-case-start';
  if (!isPlain(raw)) fail(where, raw, 'a test case start info');
  if (!MODES.has(raw.mode)) fail(`${where}.mode`, raw.mode, 'skip | only | todo or nothing');
  return defined({
    ancestorTitles: strings(raw.ancestorTitles, `${where}.ancestorTitles`).map(boundText),
    fullName: boundText(string(raw.fullName, `${where}.fullName`)),
    mode: (raw.mode ?? undefined) as CaseStartInfo['mode'],
    title: boundText(string(raw.title, `${where}.title`)),
    startedAt: optionalNumber(raw.startedAt, `${where}.startedAt`),
  } as CaseStartInfo);
}

/** The counts Jest derives from a file's assertions: jest-circus's rule (anything not pending, todo or failed passes). */
export function countAssertions(assertions: readonly AssertionResult[]): Pick<TestResult, 'numFailingTests' | 'numPassingTests' | 'numPendingTests' | 'numTodoTests'> {
  const counts = { numFailingTests: 0, numPassingTests: 0, numPendingTests: 0, numTodoTests: 0 };
  for (const { status } of assertions) {
    if (status === 'pending') counts.numPendingTests++;
    else if (status === 'todo') counts.numTodoTests++;
    else if (status === 'failed') counts.numFailingTests++;
    else counts.numPassingTests++;
  }
  return counts;
}

function snapshot(raw: unknown, boundText: SanitizeContext['boundText']): TestResult['snapshot'] {
  if (!isPlain(raw)) fail('snapshot', raw, 'a snapshot summary');
  return {
    added: count(raw.added, 'snapshot.added'),
    fileDeleted: optionalBoolean(raw.fileDeleted, 'snapshot.fileDeleted') ?? false,
    matched: count(raw.matched, 'snapshot.matched'),
    unchecked: count(raw.unchecked, 'snapshot.unchecked'),
    uncheckedKeys: raw.uncheckedKeys === undefined ? [] : strings(raw.uncheckedKeys, 'snapshot.uncheckedKeys').map(boundText),
    unmatched: count(raw.unmatched, 'snapshot.unmatched'),
    updated: count(raw.updated, 'snapshot.updated'),
  };
}

const PERF_NUMBERS = ['end', 'loadTestEnvironmentEnd', 'loadTestEnvironmentStart', 'runtime', 'setupAfterEnvEnd', 'setupAfterEnvStart', 'setupFilesEnd', 'setupFilesStart', 'start'] as const;

function perfStats(raw: unknown): TestResult['perfStats'] {
  const source = isPlain(raw) ? raw : {};
  const stats = { slow: source.slow === true } as TestResult['perfStats'];
  // Timings only feed the summary and the scheduler's ordering: a bad one becomes 0 rather than failing the file.
  for (const key of PERF_NUMBERS) stats[key] = typeof source[key] === 'number' && Number.isFinite(source[key]) ? source[key] : 0;
  return stats;
}

function consoleBuffer(raw: unknown, trustStack: SanitizeContext['trustOrigin']): TestResult['console'] {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) fail('console', raw, 'an array of console entries');
  return raw.map((entry, i) => {
    if (!isPlain(entry) || !CONSOLE_TYPES.has(entry.type as string)) fail(`console[${i}]`, entry, 'a console entry {message, origin, type}');
    // DefaultReporter renders a code frame of the file an error's or a warning's origin names.
    return { message: string(entry.message, `console[${i}].message`), origin: trustStack(string(entry.origin, `console[${i}].origin`), `console[${i}].origin`), type: entry.type };
  }) as TestResult['console'];
}

export function sanitizeTestResult(raw: unknown, ctx: SanitizeContext): TestResult {
  if (!isPlain(raw)) fail('the result', raw, 'a TestResult');
  if (!Array.isArray(raw.testResults)) fail('testResults', raw.testResults, 'an array of assertion results');
  const testResults = raw.testResults.map((assertion, i) => sanitizeAssertion(assertion, `testResults[${i}]`, ctx));
  const counts = countAssertions(testResults);
  for (const [key, value] of Object.entries(counts) as Array<[keyof typeof counts, number]>) {
    const claimed = count(raw[key], key);
    if (claimed !== value) throw new UntrustedResult(`${key} is ${claimed}, but the file's assertion results count ${value}`);
  }
  const testCount = counts.numPassingTests + counts.numFailingTests + counts.numPendingTests + counts.numTodoTests;
  const testFilePath = raw.testFilePath;
  if (testFilePath !== undefined && testFilePath !== ctx.testPath) fail('testFilePath', testFilePath, `this file's path, ${ctx.testPath}`);
  const failureMessage = raw.failureMessage;
  return defined({
    ...counts,
    console: consoleBuffer(raw.console, ctx.trustOrigin),
    ...ctx.trustCoverage(raw.coverage, raw.v8Coverage),
    displayName: ctx.displayName,
    failing: optionalBoolean(raw.failing, 'failing'),
    failureMessage: failureMessage === undefined || failureMessage === null ? failureMessage : ctx.boundText(string(failureMessage, 'failureMessage')),
    // Jest fails a file whose result says it leaked: keep that, and only that.
    leaks: raw.leaks === true,
    memoryUsage: optionalNumber(raw.memoryUsage, 'memoryUsage') ?? undefined,
    // The host collects open handles itself (detectOpenHandles); the child's would be formatted, stacks and all, on the host.
    openHandles: [],
    perfStats: perfStats(raw.perfStats),
    // As jest-runner decides it.
    skipped: testCount === counts.numPendingTests,
    snapshot: snapshot(raw.snapshot, ctx.boundText),
    testExecError: raw.testExecError === undefined || raw.testExecError === null ? undefined : sanitizeError(raw.testExecError, 'testExecError', ctx.trustStack),
    testFilePath: ctx.testPath,
    testResults,
  } as TestResult);
}
