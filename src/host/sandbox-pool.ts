// The run's sandboxed files, in one collection. Jest's order is kept: a file
// is launched ahead of a free slot (up to `lookahead` of them wait, loading
// Jest, while others run), a worker takes the next one, launching it only
// if nobody did, and releases it when its result is in. An interrupt or the
// end of the run closes the pool, which disposes every file still in it,
// whatever state each is in, and launches nothing more.
export interface PoolFile {
  dispose(): void;
}

interface Entry<F> {
  file: Promise<F>;
  /** A worker has it: it no longer counts against the lookahead. */
  taken: boolean;
}

export class SandboxPool<T, F extends PoolFile> {
  readonly #items: readonly T[];
  readonly #launch: (item: T) => Promise<F>;
  readonly #lookahead: number;
  readonly #entries = new Map<T, Entry<F>>();
  #next = 0;
  #closed = false;

  constructor(items: readonly T[], launch: (item: T) => Promise<F>, lookahead: number) {
    this.#items = items;
    this.#launch = launch;
    this.#lookahead = lookahead;
  }

  /** Launches the next files nobody has taken yet, until `lookahead` of them wait. */
  topUp(): void {
    let waiting = [...this.#entries.values()].filter((entry) => !entry.taken).length;
    for (let i = this.#next; i < this.#items.length && waiting < this.#lookahead && !this.#closed; i++) {
      if (this.#entries.has(this.#items[i])) continue;
      this.#add(this.#items[i], false);
      waiting++;
    }
  }

  /** The next item in order and its file, launched now if it was not yet; undefined once all are taken or the pool is closed. */
  take(): { item: T; file: Promise<F> } | undefined {
    if (this.#closed || this.#next >= this.#items.length) return undefined;
    const item = this.#items[this.#next++];
    const entry = this.#entries.get(item) ?? this.#add(item, true);
    entry.taken = true;
    return { item, file: entry.file };
  }

  /** The item's file is done with (it disposed itself): it leaves the pool. */
  release(item: T): void {
    this.#entries.delete(item);
  }

  /** Disposes every file still in the pool, including those still being launched, and launches no more. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) void entry.file.then((file) => file.dispose(), () => undefined);
    this.#entries.clear();
  }

  /** How many files are in the pool: launched, and not yet released. */
  get size(): number {
    return this.#entries.size;
  }

  #add(item: T, taken: boolean): Entry<F> {
    const file = this.#launch(item);
    // A launch that fails is reported by the worker that takes it; until then its rejection is expected.
    file.catch(() => undefined);
    const entry = { file, taken };
    this.#entries.set(item, entry);
    return entry;
  }
}
