// The pure parts of the transform-key lever: the canonical text of Jest's
// transform options, and which environment variables the comparison skips.
import { canonical, envHash, optionsHash } from '../../src/shared/transform-key-format';

describe('canonical transform options', () => {
  test('key order and Set order do not matter; undefined is left out, as JSON does', () => {
    expect(canonical({ b: 1, a: [true, 'x'], c: undefined, d: new Set(['z', 'y']) })).toBe(canonical({ d: new Set(['y', 'z']), a: [true, 'x'], b: 1 }));
    expect(optionsHash({ instrument: true })).not.toBe(optionsHash({ instrument: false }));
    expect(optionsHash({ changedFiles: new Set(['/a']) })).not.toBe(optionsHash({ changedFiles: new Set(['/b']) }));
    expect(optionsHash({ changedFiles: new Set() })).not.toBe(optionsHash({ changedFiles: [] }));
  });

  test('a value it cannot write down shares no key', () => {
    expect(canonical({ f: () => 1 })).toBeUndefined();
    expect(canonical({ nested: [new Map()] })).toBeUndefined();
    expect(canonical({ re: /x/ })).toBeUndefined();
    expect(optionsHash({ when: new Date(0) })).toBeUndefined();
  });
});

describe('the environment the keys were made under', () => {
  const base = { PATH: '/usr/bin', NODE_ENV: 'test' };
  test('only the worker id, the sandbox\'s own description and the shell\'s PWD are skipped', () => {
    expect(envHash({ ...base, JEST_WORKER_ID: '3', MOUNT_SANDBOX: '{}', PWD: '/p' })).toBe(envHash(base));
    expect(envHash({ ...base, BABEL_ENV: 'x' })).not.toBe(envHash(base));
    expect(envHash({ ...base, NODE_ENV: 'production' })).not.toBe(envHash(base));
    expect(envHash({ ...base, EMPTY: '' })).not.toBe(envHash(base));
  });
});
