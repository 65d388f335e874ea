import { FrameDecoder, FrameError, HEADER_BYTES, encodeFrame } from '../../src/shared/frames';
import { decodeMessage, encodeMessage, jsonValueBound } from '../../src/shared/jest-protocol';

const LIMITS = { maxFrameBytes: 1000, maxTotalBytes: 5000 };

function header(length: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.writeUInt32BE(length, 0);
  return b;
}

describe('FrameDecoder', () => {
  test('frames split across chunks at every byte, and several in one chunk, come out whole and in order', () => {
    const stream = Buffer.concat([encodeFrame('{"a":1}'), encodeFrame('"second"'), encodeFrame('[]')]);
    for (let cut = 1; cut < stream.length; cut++) {
      const decoder = new FrameDecoder(LIMITS);
      const out = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))].map((f) => f.toString());
      expect(out).toEqual(['{"a":1}', '"second"', '[]']);
      expect(() => decoder.end()).not.toThrow();
    }
    const bytewise = new FrameDecoder(LIMITS);
    const out: string[] = [];
    for (const byte of stream) out.push(...bytewise.push(Buffer.from([byte])).map((f) => f.toString()));
    expect(out).toEqual(['{"a":1}', '"second"', '[]']);
  });

  test('a header split before a long body is read once, not re-joined with the whole buffer at every chunk', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20, maxTotalBytes: 1 << 21 });
    const body = 'y'.repeat(4000);
    const frame = encodeFrame(body);
    const concat = jest.spyOn(Buffer, 'concat');
    try {
      expect(decoder.push(frame.subarray(0, 1))).toEqual([]);
      const out: string[] = [];
      for (let at = 1; at < frame.length; at += 10) out.push(...decoder.push(frame.subarray(at, at + 10)).map((f) => f.toString()));
      expect(out).toEqual([body]);
      // One join, when the frame is complete; a join per chunk would be ~400.
      expect(concat).toHaveBeenCalledTimes(1);
    } finally {
      concat.mockRestore();
    }
  });

  test('a header announcing more than the frame limit fails at once, before the bytes arrive, and stays failed', () => {
    const decoder = new FrameDecoder(LIMITS);
    expect(() => decoder.push(header(1001))).toThrow(new FrameError('a frame of 1001 bytes, above the limit of 1000'));
    expect(() => decoder.push(encodeFrame('{}'))).toThrow(FrameError);
    expect(() => decoder.end()).toThrow(FrameError);
  });

  test('raw garbage reads as an absurd length and fails', () => {
    expect(() => new FrameDecoder(LIMITS).push(Buffer.from('garbage bytes, not a frame'))).toThrow(/a frame of \d+ bytes, above the limit/);
  });

  test('more than the total limit fails, even in frames that are each small', () => {
    const decoder = new FrameDecoder(LIMITS);
    const frame = encodeFrame('x'.repeat(900));
    for (let i = 0; i < 5; i++) decoder.push(frame);
    expect(() => decoder.push(frame)).toThrow('more than 5000 bytes in all (the limit per test file)');
  });

  test('a frame cut short by the end of the stream is an error', () => {
    const decoder = new FrameDecoder(LIMITS);
    decoder.push(encodeFrame('{"complete":true}'));
    decoder.push(Buffer.concat([header(10), Buffer.from('abc')]));
    expect(() => decoder.end()).toThrow('7 bytes of an unfinished frame when the channel closed');
  });
});

describe('the wire encoding', () => {
  test('Errors (also from another realm) travel as plain {name, message, stack, own fields}', () => {
    const error = Object.assign(new TypeError('boom'), { code: 'E_X' });
    const foreign = require('node:vm').runInNewContext('new RangeError("far")') as Error;
    const decoded = decodeMessage(Buffer.from(encodeMessage({ error, foreign, big: 10n }))) as Record<string, Record<string, unknown>>;
    expect(decoded.error).toEqual({ name: 'TypeError', message: 'boom', stack: error.stack, code: 'E_X' });
    expect(decoded.foreign).toMatchObject({ name: 'RangeError', message: 'far' });
    expect(decoded.big).toBe('10');
  });

  test('a cycle becomes a marker instead of failing the whole message', () => {
    const value: Record<string, unknown> = { a: 1 };
    value.self = value;
    expect(decodeMessage(Buffer.from(encodeMessage({ value })))).toEqual({ value: { a: 1, self: '[Circular]' } });
  });

  test('decoding builds plain data only: __proto__ keys are dropped, not applied', () => {
    const decoded = decodeMessage(Buffer.from('{"__proto__":{"polluted":true},"nested":{"__proto__":{"x":1},"ok":2}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(decoded)).toEqual(['nested']);
    expect(decoded.nested).toEqual({ ok: 2 });
    expect(Object.getPrototypeOf(decoded.nested)).toBe(Object.prototype);
  });

  test('bytes that are not JSON throw (the runner turns that into a failure of the file)', () => {
    expect(() => decodeMessage(Buffer.from([0xff, 0x00, 0x13]))).toThrow(SyntaxError);
  });
});

describe('jsonValueBound', () => {
  const bound = (text: string, stopAbove = 1000): number => jsonValueBound(Buffer.from(text), stopAbove);

  test('is at least the number of values, for every kind of JSON', () => {
    const count = (v: unknown): number => (v !== null && typeof v === 'object' ? 1 + Object.values(v).reduce((n: number, x) => n + count(x), 0) : 1);
    for (const value of [0, 'x', [], {}, [[], {}], { a: [1, { b: null }], c: 'd' }, [true, false, null, 1.5, -2e9]]) {
      const text = JSON.stringify(value);
      expect(bound(text)).toBeGreaterThanOrEqual(count(value));
      // And close to it, so that honest data is not counted many times over.
      expect(bound(text)).toBeLessThanOrEqual(2 * count(value));
    }
  });

  test('ignores the structural characters inside strings, escaped quotes included', () => {
    expect(bound(JSON.stringify('{[,:]} \\" {,,,}'))).toBe(1);
    expect(bound(JSON.stringify(['a\\', '"{,}"']))).toBe(3);
  });

  test('stops counting just past the limit', () => {
    expect(bound('[' + '{},'.repeat(1e5) + '0]', 10)).toBe(11);
  });
});
