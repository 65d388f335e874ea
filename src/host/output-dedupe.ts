// Warnings that Node or a transformer prints once per process (an
// ExperimentalWarning, a DeprecationWarning, ts-jest's config warnings) would
// print once per test file, because every sandboxed file is a fresh process.
// The runner passes each sandboxed child's stderr through one of these, shared
// by the whole run: such a line is shown the first time and dropped after.
// Every other line passes through untouched and at once, so a test's own
// output is never held back or hidden.

/** Lines a process prints at most once by itself, with the pid taken out of the key. */
const ONCE_PER_PROCESS: ReadonlyArray<{ test: RegExp; key: (line: string) => string }> = [
  // process.emitWarning's format: "(node:1234) [DEP0040] DeprecationWarning: …" and its follow-up hint.
  { test: /^\(node:\d+\) (\[\w+\] )?\w*Warning: /, key: (line) => line.replace(/^\(node:\d+\)/, '(node)') },
  { test: /^\(Use `node --trace-(warnings|deprecation) \.\.\.` to show where the warning was created\)$/, key: (line) => line },
  // ts-jest's logger: "ts-jest[config] (WARN) message".
  { test: /^ts-jest\[[\w-]+\] \(WARN\) /, key: (line) => line },
];

const STARTS = ['(node:', '(Use `node --trace-', 'ts-jest['];

/** A partial line that could still turn out to be one of the above is held until its newline. */
function mayBecomeOnce(partial: string): boolean {
  return partial !== '' && STARTS.some((start) => start.startsWith(partial) || partial.startsWith(start));
}

export class OnceLines {
  readonly #seen = new Set<string>();

  /** A filter for one stream of one process: feed it chunks, write what it returns. */
  stream(): { write(chunk: string): string; end(): string } {
    let held = '';
    return {
      write: (chunk: string): string => {
        const text = held + chunk;
        held = '';
        const lines = text.split('\n');
        const last = lines.pop() as string;
        let out = lines.map((line) => this.#filter(line)).filter((line) => line !== undefined).map((line) => `${line}\n`).join('');
        // A line that cannot be a once-per-process warning goes out now, newline or not.
        if (mayBecomeOnce(last)) held = last;
        else out += last;
        return out;
      },
      end: (): string => {
        const rest = held;
        held = '';
        return rest === '' ? '' : this.#filter(rest) ?? '';
      },
    };
  }

  #filter(line: string): string | undefined {
    const plain = line.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r$/, '');
    const rule = ONCE_PER_PROCESS.find((r) => r.test.test(plain));
    if (rule === undefined) return line;
    const key = rule.key(plain);
    if (this.#seen.has(key)) return undefined;
    this.#seen.add(key);
    return line;
  }
}
