// Real symlinks in a temporary folder standing for a root being built, with
// a "host" folder beside it that no resolution may reach.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveUnder } from '../../src/inside/resolve-under';

let base: string;
let root: string;

beforeAll(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tmp-resolve-under-')));
  root = path.join(base, 'newroot');
  fs.mkdirSync(path.join(root, 'project', 'real'), { recursive: true });
  fs.mkdirSync(path.join(base, 'host'));
  fs.writeFileSync(path.join(root, 'project', 'file'), '');
  // Absolute, as the finished sandbox reads it: from its own root.
  fs.symlinkSync('/project/real', path.join(root, 'project', 'abs'));
  // Relative, climbing further than the root has parents.
  fs.symlinkSync('../../../../host', path.join(root, 'project', 'climb'));
  // Absolute, naming the folder beside the root (what /oldroot is during the build).
  fs.symlinkSync(path.join(base, 'host'), path.join(root, 'project', 'out'));
  fs.symlinkSync('loop-b', path.join(root, 'project', 'loop-a'));
  fs.symlinkSync('loop-a', path.join(root, 'project', 'loop-b'));
  fs.symlinkSync('real', path.join(root, 'project', 'last'));
});

afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

test('a path without symlinks stays as it is, missing parts included', () => {
  expect(resolveUnder(root, '/project/real/a/b')).toBe(path.join(root, 'project/real/a/b'));
  expect(resolveUnder(root, '/')).toBe(root);
});

test('an absolute symlink resolves from the root, not from the process\'s /', () => {
  expect(resolveUnder(root, '/project/abs/x')).toBe(path.join(root, 'project/real/x'));
});

test('no symlink leads out of the root: a climbing one stops at it, one to a path beside it stays inside', () => {
  expect(resolveUnder(root, '/project/climb/x')).toBe(path.join(root, 'host/x'));
  expect(resolveUnder(root, '/project/out/x')).toBe(path.join(root, base, 'host/x'));
  expect(resolveUnder(root, '/../../x')).toBe(path.join(root, 'x'));
});

test('the last component is followed only when asked', () => {
  expect(resolveUnder(root, '/project/last')).toBe(path.join(root, 'project/last'));
  expect(resolveUnder(root, '/project/last', true)).toBe(path.join(root, 'project/real'));
});

test('a loop fails with ELOOP, naming the path; a file on the way is left to the caller', () => {
  expect(() => resolveUnder(root, '/project/loop-a/x')).toThrow(expect.objectContaining({ code: 'ELOOP', message: expect.stringContaining('/project/loop-a/x') }));
  expect(resolveUnder(root, '/project/file/x/y')).toBe(path.join(root, 'project/file/x/y'));
});
