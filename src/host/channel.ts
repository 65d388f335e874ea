// The runner's end of one sandboxed file's channel. What arrives was written
// by a process that runs test code, so it is decoded here, inside try/catch,
// within byte and value limits: a violation ends this file's channel with a
// reason, and never throws into Jest's process.
import type { Duplex } from 'node:stream';
import { CHILD_LIMITS, FrameDecoder, FrameError, encodeFrame, type FrameLimits } from '../shared/frames';
import { CHILD_VALUE_LIMITS, decodeMessage, encodeMessage, jsonValueBound, type ParentMessage, type ValueLimits } from '../shared/jest-protocol';

export interface ChannelHandlers {
  /** One decoded message: plain data of any shape, still to be checked. */
  message(raw: unknown): void;
  /** The channel carried something that is not a valid frame; called once, and nothing is delivered after it. */
  broken(reason: string): void;
}

export class RunnerChannel {
  readonly #stream: Duplex;
  readonly #decoder: FrameDecoder;
  readonly #handlers: ChannelHandlers;
  readonly #values: ValueLimits;
  #valuesSeen = 0;
  #broken = false;

  constructor(stream: Duplex, handlers: ChannelHandlers, limits: FrameLimits = CHILD_LIMITS, values: ValueLimits = CHILD_VALUE_LIMITS) {
    this.#stream = stream;
    this.#handlers = handlers;
    this.#values = values;
    this.#decoder = new FrameDecoder(limits);
    stream.on('data', (chunk: Buffer) => this.#receive(chunk));
    stream.on('end', () => {
      if (this.#broken) return;
      try {
        this.#decoder.end();
      } catch (error) {
        this.#break(error);
      }
    });
    // The child died or closed its end: its exit status tells the rest.
    stream.on('error', () => undefined);
  }

  send(message: ParentMessage): void {
    if (this.#stream.destroyed || !this.#stream.writable) return;
    this.#stream.write(encodeFrame(encodeMessage(message)));
  }

  close(): void {
    this.#stream.destroy();
  }

  #receive(chunk: Buffer): void {
    if (this.#broken) return;
    let frames: Buffer[];
    try {
      frames = this.#decoder.push(chunk);
    } catch (error) {
      this.#break(error);
      return;
    }
    for (const frame of frames) {
      const values = jsonValueBound(frame, this.#values.maxFrameValues);
      if (values > this.#values.maxFrameValues) {
        this.#break(new FrameError(`a frame of more than ${this.#values.maxFrameValues} JSON values, above the limit per message`));
        return;
      }
      this.#valuesSeen += values;
      if (this.#valuesSeen > this.#values.maxTotalValues) {
        this.#break(new FrameError(`more than ${this.#values.maxTotalValues} JSON values in all (the limit per test file)`));
        return;
      }
      let raw: unknown;
      try {
        raw = decodeMessage(frame);
      } catch {
        // Not JSON.parse's words: they quote the hostile bytes.
        this.#break(new FrameError(`a frame of ${frame.length} bytes that is not JSON`));
        return;
      }
      try {
        this.#handlers.message(raw);
      } catch (error) {
        // A bug of ours in handling it: thrown from a stream callback it would end Jest's whole run, not this file.
        this.#break(new FrameError(`a message the runner failed to handle (${error instanceof Error ? error.message : String(error)})`));
        return;
      }
      if (this.#broken) return;
    }
  }

  #break(error: unknown): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#stream.destroy();
    this.#handlers.broken(error instanceof Error ? error.message : String(error));
  }
}
