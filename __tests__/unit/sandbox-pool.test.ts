// The pool's bookkeeping with fake files: what it launches when, and what
// closing it disposes. The real files are covered end to end (e2e/jest-*).
import { SandboxPool } from '../../src/host/sandbox-pool';

interface FakeFile {
  name: string;
  disposed: number;
  dispose(): void;
}

function fakes(): { launched: string[]; files: Map<string, FakeFile>; launch(name: string): Promise<FakeFile> } {
  const launched: string[] = [];
  const files = new Map<string, FakeFile>();
  return {
    launched,
    files,
    launch(name) {
      launched.push(name);
      if (name.startsWith('bad')) return Promise.reject(new Error(`${name} cannot be planned`));
      const file: FakeFile = { name, disposed: 0, dispose() { this.disposed++; } };
      files.set(name, file);
      return Promise.resolve(file);
    },
  };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('it launches ahead up to the lookahead, in order, and a taken file no longer counts', () => {
  const f = fakes();
  const pool = new SandboxPool(['a', 'b', 'c', 'd'], f.launch, 2);
  pool.topUp();
  expect(f.launched).toEqual(['a', 'b']);
  expect(pool.take()?.item).toBe('a');
  pool.topUp();
  expect(f.launched).toEqual(['a', 'b', 'c']);
  expect(pool.size).toBe(3);
});

test('a worker gets the file launched ahead for its item, or one launched then; each item is taken once', async () => {
  const f = fakes();
  const pool = new SandboxPool(['a', 'b'], f.launch, 0);
  pool.topUp();
  expect(f.launched).toEqual([]);
  const first = pool.take();
  expect(f.launched).toEqual(['a']);
  await expect(first?.file).resolves.toBe(f.files.get('a'));
  const ahead = new SandboxPool(['x', 'y'], f.launch, 1);
  ahead.topUp();
  expect((await ahead.take()?.file)?.name).toBe('x');
  expect(f.launched.filter((name) => name === 'x')).toHaveLength(1);
  expect(ahead.take()?.item).toBe('y');
  expect(ahead.take()).toBeUndefined();
});

test('a release takes the file out of the pool: closing it later does not dispose it again', async () => {
  const f = fakes();
  const pool = new SandboxPool(['a', 'b'], f.launch, 2);
  pool.topUp();
  const a = pool.take();
  await a?.file;
  pool.release('a');
  pool.close();
  await flush();
  expect(f.files.get('a')?.disposed).toBe(0);
  expect(f.files.get('b')?.disposed).toBe(1);
  expect(pool.size).toBe(0);
});

test('closing disposes every file still in it, taken or waiting, and then launches and hands out nothing', async () => {
  const f = fakes();
  const pool = new SandboxPool(['a', 'b', 'c', 'd'], f.launch, 2);
  pool.topUp();
  pool.take();
  pool.topUp();
  pool.close();
  await flush();
  expect([...f.files.values()].map((file) => [file.name, file.disposed])).toEqual([['a', 1], ['b', 1], ['c', 1]]);
  pool.topUp();
  expect(pool.take()).toBeUndefined();
  expect(f.launched).toEqual(['a', 'b', 'c']);
});

test('a launch that fails is handed to the worker that takes it, and is no unhandled rejection meanwhile', async () => {
  const f = fakes();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    const pool = new SandboxPool(['bad-1', 'ok'], f.launch, 2);
    pool.topUp();
    await flush();
    expect(unhandled).toEqual([]);
    await expect(pool.take()?.file).rejects.toThrow('bad-1 cannot be planned');
    pool.close();
    await flush();
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
