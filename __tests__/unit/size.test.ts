import { formatSize, parseSize } from '../../src/shared/size';

const K = 1024;
const M = 1024 ** 2;
const G = 1024 ** 3;
const T = 1024 ** 4;

describe('parseSize', () => {
  test.each<[string, number]>([
    ['1048576', 1048576],
    ['1', 1],
    ['512k', 512 * K],
    ['512K', 512 * K],
    ['64m', 64 * M],
    ['64M', 64 * M],
    ['1g', G],
    ['2G', 2 * G],
    ['1t', T],
    ['1MiB', M],
    ['1mib', M],
    ['1mb', M],
    ['4KB', 4 * K],
    ['1GiB', G],
    ['064m', 64 * M],
    [' 64m ', 64 * M],
    // The largest whole-terabyte size that is still a safe integer.
    ['8191t', 8191 * T],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  test.each<[string]>([
    ['12x'],
    ['0'],
    ['0k'],
    ['-1'],
    ['+1'],
    [''],
    ['   '],
    ['1.5g'],
    ['m'],
    ['k'],
    ['1b'], // a byte suffix needs a unit: `1b` is ambiguous, not `1`
    ['1ib'],
    ['1Ki'],
    ['1 m'],
    ['1mm'],
    ['1e3'],
    ['0x10'],
    ['8192t'], // 2^53: no longer a safe integer
    ['99999999999999999999'],
  ])('%j is not a size', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
});

describe('formatSize', () => {
  test.each<[number, string]>([
    [G, '1g'],
    [3 * G, '3g'],
    [T, '1024g'],
    [64 * M, '64m'],
    [1536 * M, '1536m'],
    [512 * K, '512k'],
    [1536 * K, '1536k'],
    [1000, '1000'],
    [1, '1'],
    [1025, '1025'],
  ])('%d bytes is %j', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  test.each([1, 1000, 4096, 512 * K, 64 * M + K, 1536 * M, 5 * G, T])('parseSize(formatSize(%d)) round-trips', (bytes) => {
    expect(parseSize(formatSize(bytes))).toBe(bytes);
  });
});
