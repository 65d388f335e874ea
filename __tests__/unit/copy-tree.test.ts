// The copy fallback's walk on a real temporary tree. Leaving out unreadable
// files needs a user who cannot read them: e2e/recipes covers that as nobody.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copyReadableTree } from '../../src/inside/copy-tree';

let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tmp-copy-tree-'));
});

afterEach(() => {
  execFileSync('chmod', ['-R', 'u+rwx', root]);
  fs.rmSync(root, { recursive: true, force: true });
});

test('directories, files and symlinks keep their modes, targets and times; a read-only folder still gets its children', () => {
  const src = path.join(root, 'src');
  fs.mkdirSync(path.join(src, 'locked', 'deep'), { recursive: true });
  fs.writeFileSync(path.join(src, 'locked', 'deep', 'f.txt'), 'deep\n');
  fs.writeFileSync(path.join(src, 'exec.sh'), '#!/bin/sh\n', { mode: 0o750 });
  fs.symlinkSync('../outside/nowhere', path.join(src, 'dangling'));
  fs.symlinkSync('exec.sh', path.join(src, 'link'));
  const then = new Date('2020-01-02T03:04:05Z');
  fs.utimesSync(path.join(src, 'exec.sh'), then, then);
  fs.chmodSync(path.join(src, 'locked'), 0o555);

  const dest = path.join(root, 'dest');
  expect(copyReadableTree(src, dest)).toEqual({ skipped: [] });

  expect(fs.readFileSync(path.join(dest, 'locked', 'deep', 'f.txt'), 'utf8')).toBe('deep\n');
  expect(fs.statSync(path.join(dest, 'locked')).mode & 0o7777).toBe(0o555);
  expect(fs.statSync(path.join(dest, 'exec.sh')).mode & 0o7777).toBe(0o750);
  expect(fs.statSync(path.join(dest, 'exec.sh')).mtime).toEqual(then);
  expect(fs.readlinkSync(path.join(dest, 'dangling'))).toBe('../outside/nowhere');
  expect(fs.readlinkSync(path.join(dest, 'link'))).toBe('exec.sh');
});

test('a fifo cannot be copied: it is left out and reported, the rest is copied', () => {
  const src = path.join(root, 'src');
  fs.mkdirSync(path.join(src, 'run'), { recursive: true });
  execFileSync('mkfifo', [path.join(src, 'run', 'pipe')]);
  fs.writeFileSync(path.join(src, 'run', 'pid'), '1\n');

  const dest = path.join(root, 'dest');
  expect(copyReadableTree(src, dest)).toEqual({ skipped: [{ path: 'run/pipe', reason: 'a FIFO' }] });
  expect(fs.readdirSync(path.join(dest, 'run'))).toEqual(['pid']);
});

test('a destination that exists is an error (EEXIST), not a merge', () => {
  const src = path.join(root, 'src');
  fs.mkdirSync(src);
  const dest = path.join(root, 'dest');
  fs.mkdirSync(dest);
  expect(() => copyReadableTree(src, dest)).toThrow(/EEXIST/);
});
