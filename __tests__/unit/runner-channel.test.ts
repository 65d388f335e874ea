// The runner's end of the channel, over an in-memory stream: whatever the
// child writes, and whatever goes wrong handling it, ends in `broken` for
// that file, never in an exception thrown into Jest's process.
import { PassThrough } from 'node:stream';
import { RunnerChannel } from '../../src/host/channel';
import { encodeFrame } from '../../src/shared/frames';

function channel(onMessage: (raw: unknown) => void = () => undefined): { stream: PassThrough; messages: unknown[]; broken: string[] } {
  const stream = new PassThrough();
  const messages: unknown[] = [];
  const broken: string[] = [];
  new RunnerChannel(stream, {
    message: (raw) => {
      messages.push(raw);
      onMessage(raw);
    },
    broken: (reason) => broken.push(reason),
  }, { maxFrameBytes: 1000, maxTotalBytes: 5000 }, { maxFrameValues: 20, maxTotalValues: 50 });
  return { stream, messages, broken };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('frames in one write or split across writes arrive as decoded messages, in order', async () => {
  const { stream, messages, broken } = channel();
  const bytes = Buffer.concat([encodeFrame('{"type":"loaded","loadMs":1}'), encodeFrame('[1,2]')]);
  stream.write(bytes.subarray(0, 7));
  stream.write(bytes.subarray(7));
  await tick();
  expect(messages).toEqual([{ type: 'loaded', loadMs: 1 }, [1, 2]]);
  expect(broken).toEqual([]);
});

test('a frame that is not JSON breaks the channel once, without quoting its bytes, and nothing is delivered after it', async () => {
  const { stream, messages, broken } = channel();
  stream.write(Buffer.concat([encodeFrame('not json \u0000 secret'), encodeFrame('{"after":true}')]));
  await tick();
  expect(messages).toEqual([]);
  expect(broken).toEqual(['a frame of 17 bytes that is not JSON']);
  expect(stream.destroyed).toBe(true);
});

test('an oversize frame breaks it at its header, naming the limit', async () => {
  const { stream, broken } = channel();
  const header = Buffer.alloc(4);
  header.writeUInt32BE(2000, 0);
  stream.write(header);
  await tick();
  expect(broken).toEqual(['a frame of 2000 bytes, above the limit of 1000']);
});

test('a handler that throws breaks this channel instead of throwing out of the stream callback', async () => {
  const { stream, broken } = channel(() => {
    throw new Error('a bug of ours');
  });
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown): void => {
    uncaught.push(error);
  };
  process.on('uncaughtException', onUncaught);
  try {
    stream.write(encodeFrame('{}'));
    await tick();
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  expect(uncaught).toEqual([]);
  expect(broken).toEqual(['a message the runner failed to handle (a bug of ours)']);
});

test('the stream ending in the middle of a frame breaks it', async () => {
  const { stream, broken } = channel();
  stream.end(encodeFrame('{"complete":false}').subarray(0, 10));
  await tick();
  expect(broken).toEqual(['10 bytes of an unfinished frame when the channel closed']);
});

test('a frame of more values than the limit breaks it before it is parsed, however few its bytes', async () => {
  const { stream, messages, broken } = channel();
  stream.write(encodeFrame(JSON.stringify({ type: 'result', x: Array.from({ length: 15 }, () => ({})) })));
  await tick();
  expect(messages).toEqual([]);
  expect(broken).toEqual(['a frame of more than 20 JSON values, above the limit per message']);
});

test('frames each within the value limit break it once their sum passes the limit per file', async () => {
  const { stream, messages, broken } = channel();
  for (let i = 0; i < 6; i++) stream.write(encodeFrame(JSON.stringify([1, 2, 3, 4, 5, 6, 7, 8, 9])));
  await tick();
  expect(messages).toHaveLength(5);
  expect(broken).toEqual(['more than 50 JSON values in all (the limit per test file)']);
});
