// Length-prefixed frames: a 4-byte big-endian length, then that many bytes
// of UTF-8 JSON. The runner decodes what the sandboxed child writes with
// this, never with Node's IPC deserializer: test code can write to the
// channel, so every byte is hostile input, and a bad frame must fail one
// file, not throw inside Jest's process.

/** Bytes in a frame's length prefix. */
export const HEADER_BYTES = 4;

export interface FrameLimits {
  /** The largest payload one frame may carry. */
  maxFrameBytes: number;
  /** The most bytes one file's child may send in all. */
  maxTotalBytes: number;
}

/**
 * A file's full result (coverage with the transformed code of every covered
 * module included) can reach many megabytes; these are far above that and
 * far below what would hurt Jest's process.
 */
export const CHILD_LIMITS: FrameLimits = { maxFrameBytes: 128 * 1024 * 1024, maxTotalBytes: 256 * 1024 * 1024 };

/** The runner is trusted; its prepare message (config and module map) is only bounded by sanity. */
export const PARENT_LIMITS: FrameLimits = { maxFrameBytes: 512 * 1024 * 1024, maxTotalBytes: 1024 * 1024 * 1024 };

/** The channel carries something that is not a frame within the limits; nothing after it can be trusted. */
export class FrameError extends Error {}

export function encodeFrame(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/** Reassembles frames from arbitrary chunks; throws FrameError at the first violation, and keeps throwing after. */
export class FrameDecoder {
  readonly #limits: FrameLimits;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #total = 0;
  #broken: FrameError | undefined;

  constructor(limits: FrameLimits) {
    this.#limits = limits;
  }

  /** The payloads completed by this chunk, in order. */
  push(chunk: Buffer): Buffer[] {
    if (this.#broken) throw this.#broken;
    this.#total += chunk.length;
    if (this.#total > this.#limits.maxTotalBytes) {
      return this.#fail(`more than ${this.#limits.maxTotalBytes} bytes in all (the limit per test file)`);
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.#buffered < HEADER_BYTES) break;
      const length = this.#peekLength();
      if (length > this.#limits.maxFrameBytes) {
        return this.#fail(`a frame of ${length} bytes, above the limit of ${this.#limits.maxFrameBytes}`);
      }
      if (this.#buffered < HEADER_BYTES + length) break;
      const frame = this.#take(HEADER_BYTES + length);
      frames.push(frame.subarray(HEADER_BYTES));
    }
    return frames;
  }

  /** Call when the stream ends: bytes left over are a frame cut short. */
  end(): void {
    if (this.#broken) throw this.#broken;
    if (this.#buffered > 0) this.#fail(`${this.#buffered} bytes of an unfinished frame when the channel closed`);
  }

  #fail(why: string): never {
    this.#broken = new FrameError(why);
    this.#chunks = [];
    this.#buffered = 0;
    throw this.#broken;
  }

  /**
   * Copies the header out of the first chunks, never the whole buffer: a child
   * that splits a header and then sends a large body must not make every later
   * chunk re-join everything buffered so far.
   */
  #peekLength(): number {
    const first = this.#chunks[0];
    if (first.length >= HEADER_BYTES) return first.readUInt32BE(0);
    const header = Buffer.alloc(HEADER_BYTES);
    let filled = 0;
    for (const chunk of this.#chunks) {
      filled += chunk.copy(header, filled, 0, Math.min(chunk.length, HEADER_BYTES - filled));
      if (filled === HEADER_BYTES) break;
    }
    return header.readUInt32BE(0);
  }

  /** Removes and returns the first `bytes` buffered bytes (one copy, whatever the chunking). */
  #take(bytes: number): Buffer {
    const whole = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#buffered);
    const taken = whole.subarray(0, bytes);
    const rest = whole.subarray(bytes);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return taken;
  }
}
