// Bounds on the text from a sandbox that Jest's process runs regular
// expressions over: stacks, messages, console origins, retry reasons and
// failure messages. stack-utils' frame pattern (which path-trust and
// jest-message-util apply to every line) and jest-message-util's own
// patterns take time quadratic in a line's length on a hostile line: a
// 320 KB console origin held Jest's process for 30 s, 1.6 MB for longer than
// anyone would wait, after the file's sandbox was gone (no fileTimeout to
// end it). A real line of a stack or a message is far shorter than the line
// bound; a diff of one long string is the exception, and is cut, saying so.

//
// Jest also keeps every file's assertion results, these texts and
// failureDetails among them, until the run ends: so the run as a whole has a
// budget too, or enough hostile files would run Jest's process out of memory.

/** Longer lines are cut: the worst line then costs milliseconds. */
export const MAX_PARSED_LINE = 2000;
/**
 * More blank lines in a row are cut: jest-message-util's
 * separateMessageFromStack looks ahead with `\n\s*at\s` from every line
 * break, and `\s*` spans every blank line after it, so a run of them is
 * quadratic too (200 KB of "\n " held Jest's process for a minute).
 */
export const MAX_BLANK_RUN = 50;
/** What one file may send in all such text: the worst file then costs seconds. */
export const MAX_PARSED_TEXT = 16 * 1024 ** 2;
/** What all files of a run together may leave in Jest's process as such text. */
export const MAX_RUN_TEXT = 1024 ** 3;
/** A file's failureDetails, as JSON: plain data few reporters read, kept whole up to this. */
export const MAX_FAILURE_DETAILS = 1024 ** 2;

/** What the run has left, shared by every file's budget; one Jest process is one run. */
export interface RunBudget {
  left: number;
}
const RUN: RunBudget = { left: MAX_RUN_TEXT };

/** A new run in the same process (watch mode, a second runCLI) starts with the whole budget again. */
export function startRun(): void {
  RUN.left = MAX_RUN_TEXT;
}

const cutNote = (dropped: number): string => ` … [${dropped} more character${dropped === 1 ? '' : 's'} cut by mount-sandbox]`;

/** One file's budget: every text passes through `cut` before Jest's process parses it. */
export class ParsedTextBudget {
  readonly #run: RunBudget;
  #left = MAX_PARSED_TEXT;

  constructor(run: RunBudget = RUN) {
    this.#run = run;
  }

  #detailsLeft = MAX_FAILURE_DETAILS;

  /** `kept`: Jest keeps this text to the end of the run, so it counts against the run's budget too (a console origin does not). */
  cut(text: string, kept = true): string {
    let bounded = text;
    const left = kept ? Math.min(this.#left, this.#run.left) : this.#left;
    if (bounded.length > left) bounded = `${bounded.slice(0, left)}${cutNote(bounded.length - left)}`;
    this.#left = Math.max(0, this.#left - bounded.length);
    if (kept) this.#run.left = Math.max(0, this.#run.left - bounded.length);
    if (!hasLongLine(bounded) && !/(?:\n[^\S\n]*){51}/.test(bounded)) return bounded;
    const lines: string[] = [];
    let blank = 0;
    let cutBlank = 0;
    const flush = (): void => {
      if (cutBlank > 0) lines.push(`[${cutBlank} more blank line${cutBlank === 1 ? '' : 's'} cut by mount-sandbox]`);
      cutBlank = 0;
    };
    for (const line of bounded.split('\n')) {
      if (line.trim() === '') {
        if (++blank > MAX_BLANK_RUN) {
          cutBlank++;
          continue;
        }
      } else {
        blank = 0;
        flush();
      }
      lines.push(line.length > MAX_PARSED_LINE ? `${line.slice(0, MAX_PARSED_LINE)}${cutNote(line.length - MAX_PARSED_LINE)}` : line);
    }
    flush();
    return lines.join('\n');
  }

  /** An assertion's failureDetails while the file's budget lasts, else none: `dropped` says so. */
  details(details: unknown[], dropped: () => void): unknown[] {
    if (details.length === 0) return details;
    let size: number;
    try {
      size = JSON.stringify(details).length;
    } catch {
      size = Infinity;
    }
    if (size > Math.min(this.#detailsLeft, this.#run.left)) {
      dropped();
      return [];
    }
    this.#detailsLeft -= size;
    this.#run.left -= size;
    return details;
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
