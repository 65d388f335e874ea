import { UntrustedResult, countAssertions, sanitizeCaseResult, sanitizeCaseStart, sanitizeError, sanitizeTestResult, type SanitizeContext } from '../../src/host/result-sanitizer';

const TEST_PATH = '/proj/__tests__/a.test.js';

function assertion(status: string, title = status): Record<string, unknown> {
  return { ancestorTitles: [], failureDetails: [], failureMessages: status === 'failed' ? ['boom'] : [], fullName: title, numPassingAsserts: 0, status, title, duration: 1 };
}

/** What jest-runner builds for a file with these assertion statuses. */
function result(statuses: string[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const testResults = statuses.map((s, i) => assertion(s, `t${i}`));
  const counts = { numFailingTests: 0, numPassingTests: 0, numPendingTests: 0, numTodoTests: 0 };
  for (const s of statuses) {
    if (s === 'failed') counts.numFailingTests++;
    else if (s === 'pending') counts.numPendingTests++;
    else if (s === 'todo') counts.numTodoTests++;
    else counts.numPassingTests++;
  }
  return {
    ...counts,
    leaks: false,
    openHandles: [],
    perfStats: { start: 1, end: 2, runtime: 1, slow: false, loadTestEnvironmentStart: 0, loadTestEnvironmentEnd: 0, setupFilesStart: 0, setupFilesEnd: 0, setupAfterEnvStart: 0, setupAfterEnvEnd: 0 },
    skipped: false,
    snapshot: { added: 0, fileDeleted: false, matched: 1, unchecked: 0, uncheckedKeys: [], unmatched: 0, updated: 0 },
    testFilePath: TEST_PATH,
    testResults,
    failureMessage: null,
    console: [{ message: 'hi', origin: '    at Object.<anonymous> (/proj/__tests__/a.test.js:1:1)', type: 'log' }],
    ...overrides,
  };
}

function context(overrides: Partial<SanitizeContext> = {}): SanitizeContext {
  return {
    testPath: TEST_PATH,
    trustStack: (text) => text.split('\n').filter((line) => !line.includes('/etc/')).join('\n'),
    boundText: (text) => text,
    boundDetails: (details) => details,
    trustOrigin: (text) => text.split('\n').filter((line) => !line.includes('/etc/')).join('\n'),
    trustCoverage: () => ({}),
    ...overrides,
  };
}

describe('sanitizeTestResult', () => {
  test('a genuine result comes through with the same counts, and pinned to its file', () => {
    const out = sanitizeTestResult(result(['passed', 'failed', 'pending', 'todo', 'passed']), context());
    expect(out).toMatchObject({ numPassingTests: 2, numFailingTests: 1, numPendingTests: 1, numTodoTests: 1, skipped: false, testFilePath: TEST_PATH });
    expect(out.testResults.map((a) => a.status)).toEqual(['passed', 'failed', 'pending', 'todo', 'passed']);
    expect(out.console).toEqual([{ message: 'hi', origin: '    at Object.<anonymous> (/proj/__tests__/a.test.js:1:1)', type: 'log' }]);
  });

  test.each([
    ['numFailingTests', -1],
    ['numPassingTests', -3],
    ['numPendingTests', 1.5],
    ['numTodoTests', '0'],
    ['numFailingTests', Number.NaN],
  ])('%s = %p (not a count) fails the file', (key, value) => {
    expect(() => sanitizeTestResult(result(['failed'], { [key]: value }), context())).toThrow(UntrustedResult);
    expect(() => sanitizeTestResult(result(['failed'], { [key]: value }), context())).toThrow(new RegExp(`^${key} is`));
  });

  test('a count that disagrees with the assertion results fails the file, naming both', () => {
    expect(() => sanitizeTestResult(result(['failed', 'passed'], { numFailingTests: 0, numPassingTests: 2 }), context()))
      .toThrow('numFailingTests is 0, but the file\'s assertion results count 1');
  });

  test.each(['added', 'matched', 'unchecked', 'unmatched', 'updated'])('a negative snapshot.%s (which would cancel another file\'s snapshot failure) fails the file', (key) => {
    const base = result(['passed']);
    const snapshot = { ...(base.snapshot as object), [key]: -1 };
    expect(() => sanitizeTestResult({ ...base, snapshot }, context())).toThrow(`snapshot.${key} is -1, expected a count`);
  });

  test('a result naming another file fails; one without a path gets this file\'s', () => {
    expect(() => sanitizeTestResult(result(['passed'], { testFilePath: '/proj/__tests__/other.test.js' }), context())).toThrow(/testFilePath/);
    const { testFilePath: _drop, ...withoutPath } = result(['passed']);
    expect(sanitizeTestResult(withoutPath, context()).testFilePath).toBe(TEST_PATH);
  });

  test('an unknown status, a non-array testResults, or no result at all fail the file', () => {
    expect(() => sanitizeTestResult(result(['exploded']), context())).toThrow(/testResults\[0\]\.status/);
    expect(() => sanitizeTestResult(result([], { testResults: {} }), context())).toThrow(/testResults/);
    expect(() => sanitizeTestResult(null, context())).toThrow(UntrustedResult);
    expect(() => sanitizeTestResult([1, 2], context())).toThrow(UntrustedResult);
  });

  test('only known fields survive; open handles, displayName and skipped come from the host', () => {
    const out = sanitizeTestResult(result(['pending'], { extra: 'x', openHandles: [{ stack: 'at (/etc/shadow:1:1)' }], displayName: { name: 'forged', color: 'constructor' }, skipped: false }), context({ displayName: { name: 'real', color: 'blue' } }));
    expect(out).not.toHaveProperty('extra');
    expect(out.openHandles).toEqual([]);
    expect(out.displayName).toEqual({ name: 'real', color: 'blue' });
    expect(out.skipped).toBe(true);
  });

  test('stacks the host renders (console origins, retry reasons, exec errors) go through trustStack', () => {
    const seen: string[] = [];
    const out = sanitizeTestResult(result(['passed'], {
      console: [{ message: 'm', origin: 'at x (/etc/shadow:1:1)\nat y (/proj/a.js:1:1)', type: 'error' }],
      testResults: [{ ...assertion('passed'), retryReasons: ['Error\n    at z (/etc/passwd:2:2)'] }],
      testExecError: { message: 'e', stack: 'at w (/etc/group:1:1)' },
      numPassingTests: 1,
    }), context({
      trustStack: (text, where) => { seen.push(where); return text.split('\n').filter((l) => !l.includes('/etc/')).join('\n'); },
      trustOrigin: (text, where) => { seen.push(where); return text.split('\n').filter((l) => !l.includes('/etc/')).join('\n'); },
    }));
    expect(out.console?.[0].origin).toBe('at y (/proj/a.js:1:1)');
    expect(out.testResults[0].retryReasons).toEqual(['Error']);
    expect(out.testExecError).toEqual({ message: 'e', stack: '', type: 'Error' });
    expect(seen).toEqual(expect.arrayContaining(['console[0].origin', 'testResults[0].retryReasons[0]', 'testExecError.stack']));
  });

  test('failure messages (which reporters may parse) and failure details (which Jest keeps) are bounded', () => {
    const out = sanitizeTestResult(result(['failed'], {
      testResults: [{ ...assertion('failed'), failureMessages: ['one', 'two'], failureDetails: [{ big: true }], retryMessages: ['three'] }],
      failureMessage: 'four',
      numFailingTests: 1,
    }), context({ boundText: (text) => `<${text}>`, boundDetails: (details) => details.slice(1) }));
    expect(out.testResults[0].failureMessages).toEqual(['<one>', '<two>']);
    expect(out.testResults[0].failureDetails).toEqual([]);
    expect(out.testResults[0].retryMessages).toEqual(['<three>']);
    expect(out.failureMessage).toBe('<four>');
    // Titles too: Jest keeps and prints them.
    expect(out.testResults[0].title).toBe('<failed>');
    expect(out.testResults[0].fullName).toBe('<failed>');
  });

  test('console entries of unknown shape fail the file', () => {
    expect(() => sanitizeTestResult(result(['passed'], { console: [{ message: 1, origin: '', type: 'log' }] }), context())).toThrow(/console\[0\]\.message/);
    expect(() => sanitizeTestResult(result(['passed'], { console: [{ message: '', origin: '', type: 'evil' }] }), context())).toThrow(/console\[0\]/);
  });

  test('coverage is whatever trustCoverage keeps of it', () => {
    const out = sanitizeTestResult(result(['passed'], { coverage: { '/etc/passwd': {} } }), context({ trustCoverage: (coverage) => (coverage ? {} : {}) }));
    expect(out).not.toHaveProperty('coverage');
  });
});

describe('countAssertions', () => {
  test('as jest-circus counts: skipped, disabled and focused count as passing', () => {
    expect(countAssertions(['skipped', 'disabled', 'focused', 'failed', 'pending', 'todo'].map((s) => assertion(s) as never))).toEqual({ numFailingTests: 1, numPassingTests: 3, numPendingTests: 1, numTodoTests: 1 });
  });
});

describe('sanitizeError and sanitizeCaseResult', () => {
  test('an error keeps message, stack, type and a primitive code', () => {
    expect(sanitizeError({ message: 'm', stack: 's', type: 'TypeError', code: 'E', extra: 1 }, 'failure', (t) => t)).toEqual({ message: 'm', stack: 's', type: 'TypeError', code: 'E' });
    expect(() => sanitizeError({ stack: 's' }, 'failure', (t) => t)).toThrow(/failure\.message/);
  });

  test('a case start keeps only Jest\'s fields, and refuses what is not one', () => {
    const same = (text: string): string => text;
    expect(sanitizeCaseStart({ ancestorTitles: ['d'], fullName: 'd t', title: 't', mode: 'only', startedAt: 3, extra: '/etc/passwd' }, same)).toEqual({ ancestorTitles: ['d'], fullName: 'd t', title: 't', mode: 'only', startedAt: 3 });
    expect(sanitizeCaseStart({ ancestorTitles: [], fullName: 't', title: 't' }, same)).toEqual({ ancestorTitles: [], fullName: 't', title: 't' });
    expect(() => sanitizeCaseStart({ ancestorTitles: [], fullName: 't', title: 't', mode: 'evil' }, same)).toThrow(/test-case-start\.mode/);
    expect(() => sanitizeCaseStart({ ancestorTitles: [1], fullName: 't', title: 't' }, same)).toThrow(UntrustedResult);
    expect(sanitizeCaseStart({ ancestorTitles: ['d'], fullName: 'd t', title: 't' }, (text) => `<${text}>`)).toEqual({ ancestorTitles: ['<d>'], fullName: '<d t>', title: '<t>' });
  });

  test('a case result is checked like an assertion result', () => {
    expect(sanitizeCaseResult({ ...assertion('passed'), startedAt: 5 }, { trustStack: (t) => t, boundText: (t) => t, boundDetails: (d) => d })).toMatchObject({ status: 'passed', startedAt: 5 });
    expect(() => sanitizeCaseResult({ ...assertion('passed'), numPassingAsserts: -1 }, { trustStack: (t) => t, boundText: (t) => t, boundDetails: (d) => d })).toThrow(UntrustedResult);
  });
});
