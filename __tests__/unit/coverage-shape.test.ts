// Coverage is rebuilt to the shape its readers in Jest's process need. Real
// istanbul instrumenter output and real v8 coverage must come through
// unchanged; the hostile shapes below made the real merges throw, in a later
// file's result or at the end of the run, before they were dropped here.
import { createCoverageMap } from 'istanbul-lib-coverage';
import { mergeProcessCovs } from '@bcoe/v8-coverage';
import { Session } from 'node:inspector';
import { istanbulFileCoverage, v8ScriptCoverage } from '../../src/host/coverage-shape';

type Plain = Record<string, unknown>;

// Untyped, and what babel-plugin-istanbul runs for Jest.
const { createInstrumenter } = require('istanbul-lib-instrument') as {
  createInstrumenter(options: { esModules: boolean }): { instrumentSync(code: string, file: string): string; lastFileCoverage(): Plain };
};

const SOURCE = 'function f(a = 1) { if (a) { return a > 1 ? 2 : 3; } return a && 4; }\nexport const g = () => f();\n';

function instrumented(): Plain {
  const instrumenter = createInstrumenter({ esModules: true });
  instrumenter.instrumentSync(SOURCE, '/project/a.js');
  return JSON.parse(JSON.stringify({ ...instrumenter.lastFileCoverage(), hash: 'h', _coverageSchema: 's' })) as Plain;
}

/** Merges `hostile` into a map that already holds honest coverage of the same file, as a later file's result does. */
function mergeAfterHonest(hostile: Plain): void {
  const map = createCoverageMap({ '/project/a.js': instrumented() as never });
  map.merge({ '/project/a.js': hostile as never });
}

describe('istanbulFileCoverage', () => {
  test("keeps the instrumenter's own output as it is, the `{start: {}, end: {}}` of a missing else included", () => {
    const honest = instrumented();
    expect(JSON.stringify(honest)).toContain('{"start":{},"end":{}}');
    expect(istanbulFileCoverage(honest)).toEqual(honest);
    expect(() => mergeAfterHonest(istanbulFileCoverage(honest) as Plain)).not.toThrow();
  });

  test('drops fields istanbul does not define', () => {
    expect(istanbulFileCoverage({ ...instrumented(), extra: { huge: true } })).not.toHaveProperty('extra');
  });

  const broken: Array<[string, (c: Plain) => void]> = [
    ['a statement location that is null', (c) => ((c.statementMap as Plain)['0'] = null)],
    ['a location without `end`', (c) => ((c.statementMap as Plain)['1'] = { start: { line: 1, column: 0 } })],
    ['a column that is a string', (c) => ((c.statementMap as Plain)['2'] = { start: { line: 1, column: '0' }, end: { line: 1, column: 1 } })],
    ['a branch without locations', (c) => delete ((c.branchMap as Plain)['0'] as Plain).locations],
    ['a function without loc', (c) => delete ((c.fnMap as Plain)['0'] as Plain).loc],
    ['a counter without its map entry', (c) => ((c.s as Plain)['99'] = 1)],
    ['a map entry without its counter', (c) => delete (c.f as Plain)['1']],
    ['branch counts of the wrong length', (c) => ((c.b as Plain)['1'] = [1])],
    ['a negative count', (c) => ((c.s as Plain)['0'] = -1)],
    ['a map that is an array', (c) => (c.fnMap = [])],
  ];

  test.each(broken)('drops coverage with %s', (_name, mutate) => {
    const hostile = instrumented();
    mutate(hostile);
    expect(istanbulFileCoverage(hostile)).toBeUndefined();
  });

  // The rest only make reports wrong (NaN percentages, a count never shown).
  test('most of the shapes it drops are ones the real merge cannot survive', () => {
    const fatal = broken.filter(([, mutate]) => {
      const hostile = instrumented();
      mutate(hostile);
      try {
        mergeAfterHonest(hostile);
        return false;
      } catch {
        return true;
      }
    });
    expect(fatal.map(([name]) => name)).toEqual([
      'a statement location that is null',
      'a location without `end`',
      'a branch without locations',
      'a function without loc',
      'a counter without its map entry',
      'a map that is an array',
    ]);
  });
});

describe('v8ScriptCoverage', () => {
  async function realCoverage(): Promise<Plain> {
    const session = new Session();
    session.connect();
    const post = (method: string, params?: object): Promise<Plain> =>
      new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as Plain))));
    await post('Profiler.enable');
    await post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    const { result } = await post('Profiler.takePreciseCoverage');
    session.disconnect();
    return JSON.parse(JSON.stringify((result as Plain[]).find((s) => (s.functions as unknown[]).length > 1))) as Plain;
  }

  test("keeps the inspector's own coverage as it is", async () => {
    const honest = await realCoverage();
    expect(v8ScriptCoverage(honest, honest.url as string)).toEqual(honest);
  });

  test('drops an entry whose functions or ranges are not the inspector\'s shape, which the real merge cannot survive', async () => {
    const honest = await realCoverage();
    const url = honest.url as string;
    for (const functions of [[null], [{ functionName: 'f', ranges: null }], [{ ranges: [{ startOffset: 0, endOffset: 'x', count: 1 }] }], [{ ranges: [] }]]) {
      expect(v8ScriptCoverage({ ...honest, functions }, url)).toBeUndefined();
    }
    expect(() => mergeProcessCovs([{ result: [honest as never] }, { result: [{ ...honest, functions: [null] } as never] }])).toThrow();
  });
});
