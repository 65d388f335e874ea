// removeTree, the runner's removal of a snapshot scratch folder, on a real
// file system. A sandbox of the same project can hold such a folder open
// (passing its descriptor over a socket in the shared sandboxes' cache) and
// keep changing it while the runner removes it: the racer below swaps a
// folder for a link to a host folder, atomically (renameat2 with
// RENAME_EXCHANGE, through koffi), as fast as it can. Removing by path, as
// fs.rmSync does, then deleted files of the host folder.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeTree } from '../../src/host/snapshot-scratch';

const RACER = `
const koffi = require(${JSON.stringify(require.resolve('koffi'))});
const fs = require('fs');
const renameat2 = koffi.load('libc.so.6').func('int renameat2(int, const char *, int, const char *, unsigned int)');
const [dir, victim] = process.argv.slice(1);
const d = dir + '/d', l = dir + '/l';
process.stdout.write('ready\\n');
for (;;) {
  try {
    fs.mkdirSync(d, { recursive: true });
    for (let i = 0; i < 50; i++) fs.writeFileSync(d + '/f' + i, '');
    fs.symlinkSync(victim, l);
  } catch {}
  renameat2(-100, d, -100, l, 2);
  renameat2(-100, d, -100, l, 2);
}
`;

let root: string;
let victim: string;
const racers: ChildProcess[] = [];

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tmp-remove-tree-'));
  victim = path.join(root, 'victim');
  fs.mkdirSync(victim);
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(victim, `f${i}`), 'host data');
});

afterAll(() => {
  for (const racer of racers) racer.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

function scratch(name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  return dir;
}

test('removes a deep tree of folders closed to their owner, and links without following them', () => {
  const dir = scratch('deep');
  let at = dir;
  for (let i = 0; i < 300; i++) {
    at = path.join(at, 'n');
    fs.mkdirSync(at);
    fs.writeFileSync(path.join(at, 'file'), 'x');
    fs.symlinkSync(victim, path.join(at, 'link'));
  }
  execFileSync('mkfifo', [path.join(dir, 'fifo'), path.join(at, 'fifo')]);
  // Closed from the bottom up, so that each chmod still finds its folder.
  for (let p = at; p !== dir; p = path.dirname(p)) fs.chmodSync(p, 0o000);
  fs.chmodSync(dir, 0o000);
  removeTree(dir);
  expect(fs.existsSync(dir)).toBe(false);
  expect(fs.readdirSync(victim)).toHaveLength(50);
});

test('a nested folder closed to writes (as the sandbox may leave one) still moves up and goes, as any user', async () => {
  // The scratch folder's parent is the runner's own, as mount-sandbox-snapshots is.
  const parent = scratch('nobodys');
  fs.chownSync(parent, 65534, 65534);
  const dir = path.join(parent, 'closed');
  fs.mkdirSync(path.join(dir, 'a', 'b', 'c'), { recursive: true });
  fs.chmodSync(path.join(dir, 'a', 'b'), 0o555);
  fs.chmodSync(dir, 0o777);
  for (const p of [path.join(dir, 'a'), path.join(dir, 'a', 'b'), path.join(dir, 'a', 'b', 'c')]) fs.chownSync(p, 65534, 65534);
  fs.chownSync(dir, 65534, 65534);
  fs.chmodSync(root, 0o755);
  // As nobody, whom no capability lets write a folder closed to writes: the runner's own user in CI is root.
  const removal = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', `require(${JSON.stringify(require.resolve('../../dist/host/snapshot-scratch'))}).removeTree(${JSON.stringify(dir)})`], { encoding: 'utf8' });
  expect(removal.stderr).toBe('');
  expect(fs.existsSync(dir)).toBe(false);
});

test('a missing folder is nothing to do', () => {
  expect(() => removeTree(path.join(root, 'never-made'))).not.toThrow();
});

test('a folder swapped for a link to a host folder while it is removed: the host folder keeps every file', async () => {
  const runs = 40;
  for (let i = 0; i < runs; i++) {
    const dir = scratch(`race-${i}`);
    const racer = spawn(process.execPath, ['-e', RACER, dir, victim], { stdio: ['ignore', 'pipe', 'inherit'] });
    racers.push(racer);
    await new Promise<void>((resolve) => racer.stdout?.once('data', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        removeTree(dir);
      } catch {
        // The racer keeps filling it: failing is fine, following its link is not.
      }
    }
    racer.kill('SIGKILL');
    await new Promise((resolve) => racer.once('exit', resolve));
    removeTree(dir);
    expect(fs.existsSync(dir)).toBe(false);
  }
  expect(fs.readdirSync(victim).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `f${i}`).sort());
}, 120_000);
