// Collects every problem of one set of options, so that a user fixes them
// all in one go instead of one per run. Each check still throws a config
// SandboxError (one message per problem); `Issues.attempt` catches it.
import { configError, isSandboxError, SandboxError } from '../shared/errors';

export interface Issue {
  field: string;
  message: string;
  hint?: string;
}

/** Thrown by a check whose problems are already in the list: it stops that check without a second message. */
export class AlreadyReported extends Error {}

export class Issues {
  readonly list: Issue[] = [];

  add(field: string, message: string, hint?: string): void {
    this.list.push(hint === undefined ? { field, message } : { field, message, hint });
  }

  /** Runs one check; a config error becomes an issue and gives undefined. Anything else is a bug and propagates. */
  attempt<T>(check: () => T): T | undefined {
    try {
      return check();
    } catch (error) {
      if (error instanceof AlreadyReported) return undefined;
      if (!isSandboxError(error) || error.kind !== 'config') throw error;
      const field = error.field ?? 'sandbox';
      const prefix = `${field}: `;
      this.add(field, error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message, error.hint);
      return undefined;
    }
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** One error for all of them: a single problem reads as before, several are listed one per line. */
  throwIfAny(): void {
    const [first, ...rest] = this.list;
    if (first === undefined) return;
    if (rest.length === 0) throw configError(first.field, first.message, first.hint);
    const lines = this.list.map((issue) => `  - ${issue.field}: ${issue.message}${issue.hint ? ` (${issue.hint})` : ''}`);
    throw new SandboxError('config', `${this.list.length} problems with the sandbox options:\n${lines.join('\n')}`, { field: first.field });
  }
}

export function show(value: unknown): string {
  const text = JSON.stringify(value);
  return `${text === undefined ? String(value) : text} (${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value})`;
}

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = row[j];
      row[j] = next;
    }
  }
  return row[b.length];
}

/** The known name `name` is most likely a typo of, if any is close enough. */
export function nearest(name: string, known: readonly string[]): string | undefined {
  const best = [...known].sort((x, y) => editDistance(name, x) - editDistance(name, y))[0];
  return best !== undefined && editDistance(name, best) <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
