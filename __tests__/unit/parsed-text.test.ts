// The bounds on text from a sandbox that Jest's process parses with regular
// expressions, and why: the hostile line below costs stack-utils' frame
// pattern time quadratic in its length.
import { MAX_BLANK_RUN, MAX_FAILURE_DETAILS, MAX_PARSED_LINE, MAX_PARSED_TEXT, ParsedTextBudget } from '../../src/host/parsed-text';

const hostile = (reps: number): string => `    at ${'a (b'.repeat(reps)}`;

test('short lines and a normal stack pass unchanged', () => {
  const stack = 'Error: boom\n    at Object.<anonymous> (/proj/a.test.js:3:9)\n    at node:internal/main:1:1';
  expect(new ParsedTextBudget().cut(stack)).toBe(stack);
});

test('a line longer than the bound is cut, saying how much, and the others stay', () => {
  const long = 'x'.repeat(MAX_PARSED_LINE + 500);
  const out = new ParsedTextBudget().cut(`first\n${long}\nlast`).split('\n');
  expect(out[0]).toBe('first');
  expect(out[1]).toBe(`${'x'.repeat(MAX_PARSED_LINE)} … [500 more characters cut by mount-sandbox]`);
  expect(out[2]).toBe('last');
});

test("a file's texts together are cut at the budget, and after it each is empty but the note", () => {
  const budget = new ParsedTextBudget();
  const chunk = 'y\n'.repeat(MAX_PARSED_TEXT / 4);
  expect(budget.cut(chunk)).toBe(chunk);
  expect(budget.cut(chunk)).toBe(chunk);
  expect(budget.cut('more')).toBe(' … [4 more characters cut by mount-sandbox]');
});

test('the hostile line reaches the parsers no longer than the bound', () => {
  // Uncut, stack-utils took 1.3 s on 20,000 repetitions and 26.6 s on 80,000 (quadratic); bench/, not this test, is where time is measured.
  const cut = new ParsedTextBudget().cut(hostile(80_000));
  expect(cut.split('\n')).toHaveLength(1);
  expect(cut.startsWith(hostile(80_000).slice(0, MAX_PARSED_LINE))).toBe(true);
  expect(cut.length).toBe(MAX_PARSED_LINE + ' … [318007 more characters cut by mount-sandbox]'.length);
});

test('failureDetails are kept whole while the file has budget, then dropped, saying so once per call', () => {
  const budget = new ParsedTextBudget();
  const small = [{ message: 'boom' }];
  let dropped = 0;
  expect(budget.details(small, () => dropped++)).toBe(small);
  const big = [{ message: 'z'.repeat(MAX_FAILURE_DETAILS) }];
  expect(budget.details(big, () => dropped++)).toEqual([]);
  expect(dropped).toBe(1);
  // What is left still takes a small one.
  expect(budget.details(small, () => dropped++)).toBe(small);
});

test('the run shares one budget across its files: once it is spent, every file gets only the notes', () => {
  const run = { left: 100 };
  expect(new ParsedTextBudget(run).cut('a'.repeat(60))).toBe('a'.repeat(60));
  expect(new ParsedTextBudget(run).cut('b'.repeat(60))).toBe(`${'b'.repeat(40)} … [20 more characters cut by mount-sandbox]`);
  expect(new ParsedTextBudget(run).cut('c')).toBe(' … [1 more character cut by mount-sandbox]');
  expect(new ParsedTextBudget(run).details([{ a: 1 }], () => undefined)).toEqual([]);
});

test('a long run of blank lines is cut, since jest-message-util\'s lookahead spans it from every line break', () => {
  const text = `boom${'\n '.repeat(100_000)}\n    at x (/proj/a.js:1:1)`;
  const out = new ParsedTextBudget().cut(text).split('\n');
  expect(out[0]).toBe('boom');
  expect(out.slice(1, MAX_BLANK_RUN + 1).every((line) => line.trim() === '')).toBe(true);
  expect(out[MAX_BLANK_RUN + 1]).toBe(`[${100_000 - MAX_BLANK_RUN} more blank lines cut by mount-sandbox]`);
  expect(out[MAX_BLANK_RUN + 2]).toBe('    at x (/proj/a.js:1:1)');
  // Fifty in a row are left as they are.
  const fifty = `a${'\n'.repeat(50)}b`;
  expect(new ParsedTextBudget().cut(fifty)).toBe(fifty);
});

test('text Jest does not keep (a console origin) counts against the file, not the run', () => {
  const run = { left: 10 };
  expect(new ParsedTextBudget(run).cut('x'.repeat(50), false)).toBe('x'.repeat(50));
  expect(run.left).toBe(10);
});
