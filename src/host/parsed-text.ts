// Bounds on the text from a sandbox that Jest's process runs regular
// expressions over: stacks, messages, console origins, retry reasons and
// failure messages. stack-utils' frame pattern (which path-trust and
// jest-message-util apply to every line) and jest-message-util's own
// patterns take time quadratic in a line's length on a hostile line: a
// 320 KB console origin held Jest's process for 30 s, 1.6 MB for longer than
// anyone would wait, after the file's sandbox was gone (no fileTimeout to
// end it). A real line of a stack or a message is far shorter than the line
// bound; a diff of one long string is the exception, and is cut, saying so.

/** Longer lines are cut: the worst line then costs milliseconds. */
export const MAX_PARSED_LINE = 2000;
/** What one file may send in all such text: the worst file then costs seconds. */
export const MAX_PARSED_TEXT = 16 * 1024 ** 2;

const cutNote = (dropped: number): string => ` … [${dropped} more characters cut by mount-sandbox]`;

/** One file's budget: every text passes through `cut` before Jest's process parses it. */
export class ParsedTextBudget {
  #left = MAX_PARSED_TEXT;

  cut(text: string): string {
    let bounded = text;
    if (bounded.length > this.#left) bounded = `${bounded.slice(0, this.#left)}${cutNote(bounded.length - this.#left)}`;
    this.#left = Math.max(0, this.#left - bounded.length);
    if (!hasLongLine(bounded)) return bounded;
    return bounded.split('\n').map((line) => (line.length > MAX_PARSED_LINE ? `${line.slice(0, MAX_PARSED_LINE)}${cutNote(line.length - MAX_PARSED_LINE)}` : line)).join('\n');
  }
}

function hasLongLine(text: string): boolean {
  if (text.length <= MAX_PARSED_LINE) return false;
  let start = 0;
  for (;;) {
    const end = text.indexOf('\n', start);
    if ((end < 0 ? text.length : end) - start > MAX_PARSED_LINE) return true;
    if (end < 0) return false;
    start = end + 1;
  }
}
