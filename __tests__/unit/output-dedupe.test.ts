import { OnceLines } from '../../src/host/output-dedupe';

const EXPERIMENTAL = (pid: number): string => `(node:${pid}) ExperimentalWarning: VM Modules is an experimental feature and might change at any time\n`;
const TRACE = '(Use `node --trace-warnings ...` to show where the warning was created)\n';
const TS_JEST = 'ts-jest[config] (WARN) message TS151001: If you have issues related to imports, you should consider setting `esModuleInterop`\n';

describe('OnceLines', () => {
  test('a process warning is shown for the first file only, whatever its pid', () => {
    const once = new OnceLines();
    const first = once.stream();
    const second = once.stream();
    expect(first.write(EXPERIMENTAL(8) + TRACE)).toBe(EXPERIMENTAL(8) + TRACE);
    expect(second.write(EXPERIMENTAL(9123) + TRACE)).toBe('');
  });

  test('deprecations with a code and ts-jest warnings, likewise', () => {
    const once = new OnceLines();
    const dep = (pid: number): string => `(node:${pid}) [DEP0040] DeprecationWarning: The \`punycode\` module is deprecated.\n`;
    expect(once.stream().write(dep(1) + TS_JEST)).toBe(dep(1) + TS_JEST);
    expect(once.stream().write(dep(2) + TS_JEST)).toBe('');
  });

  test('different warnings are each shown once', () => {
    const once = new OnceLines();
    const other = '(node:5) Warning: something else\n';
    expect(once.stream().write(EXPERIMENTAL(1))).toBe(EXPERIMENTAL(1));
    expect(once.stream().write(other)).toBe(other);
  });

  test("a test's own output passes every time, at once, even without a newline", () => {
    const once = new OnceLines();
    for (let i = 0; i < 3; i++) {
      const stream = once.stream();
      expect(stream.write('progress: ')).toBe('progress: ');
      expect(stream.write('done\nsame line every file\n')).toBe('done\nsame line every file\n');
    }
  });

  test('a warning split across chunks is held until its newline, then judged whole', () => {
    const once = new OnceLines();
    const a = once.stream();
    expect(a.write('(no')).toBe('');
    expect(a.write('de:7) ExperimentalWarning: x')).toBe('');
    expect(a.write('\nnext')).toBe('(node:7) ExperimentalWarning: x\nnext');
    const b = once.stream();
    expect(b.write('(node:8) ExperimentalWarning: x')).toBe('');
    expect(b.end()).toBe('');
  });

  test('a held partial line that never becomes a warning comes out at the end', () => {
    const once = new OnceLines();
    const stream = once.stream();
    expect(stream.write('ts-')).toBe('');
    expect(stream.end()).toBe('ts-');
    const other = once.stream();
    expect(other.write('(x')).toBe('(x');
  });

  test('color codes do not defeat the match', () => {
    const once = new OnceLines();
    const plain = '(node:1) ExperimentalWarning: y\n';
    expect(once.stream().write(plain)).toBe(plain);
    expect(once.stream().write('\x1b[33m(node:4) ExperimentalWarning: y\x1b[39m\n')).toBe('');
  });
});
