// The snapshot folder is where Jest writes to the host. A sandboxed file
// writes it in a scratch folder instead, and the runner copies back only
// that file's own regular .snap. The files of fixtures/hostile-snapshots
// leave nested links, a FIFO, folders (closed ones too), a file that is no
// snapshot, another file's .snap, and a link in place of their own .snap;
// afterwards the host's folder holds exactly the real snapshots, the link
// target is untouched, and no scratch folder is left.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { currentStage } from '../helpers/stage';
import { USERS, type User } from '../helpers/run';

const PASSWD_LIKE = 'root:x:0:0:root:/root:/bin/sh\n';

/** Every entry below `dir`, with its type, not following links. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, p)] = entry.isSymbolicLink() ? `link to ${fs.readlinkSync(p)}` : entry.isFile() ? 'file' : entry.isDirectory() ? 'folder' : 'special';
  }
  return out;
}

describe.each(USERS)('hostile snapshot folders as %s', (user: User) => {
  let dir: string;
  let canary: string;
  let seeded: string;
  let run: JestRun;

  beforeAll(async () => {
    dir = copyFixture('hostile-snapshots');
    canary = path.join(currentStage().root, `canary-${user}-passwd-${crypto.randomBytes(4).toString('hex')}`);
    fs.writeFileSync(canary, PASSWD_LIKE);
    fs.chmodSync(canary, 0o666);
    seeded = fs.readFileSync(path.join(dir, '__tests__', '__snapshots__', 'link-snap.test.js.snap'), 'utf8');
    run = await runJest(user, dir, ['-w', '2'], { HOSTILE_CANARY: canary });
  }, 180_000);

  afterAll(() => {
    fs.rmSync(canary, { force: true });
  });

  test('every attack was really made inside (the files pass)', () => {
    expect(outcomes(run.results)).toEqual({
      'junk.test.js › real': 'passed',
      'junk.test.js › plants junk in the snapshot folder': 'passed',
      'link-snap.test.js › kept': 'passed',
      'link-snap.test.js › replaces its own snapshot file with a link': 'passed',
      'closes-folder.test.js › closes its snapshot folder': 'passed',
    });
    expect(run.code).toBe(0);
  });

  test('only the real .snap content reaches the host: no link, FIFO, folder or foreign file', () => {
    const snapshots = path.join(dir, '__tests__', '__snapshots__');
    expect(fs.statSync(snapshots).mode & 0o777).toBe(0o777);
    expect(tree(snapshots)).toEqual({ 'junk.test.js.snap': 'file', 'link-snap.test.js.snap': 'file' });
    expect(fs.readFileSync(path.join(snapshots, 'junk.test.js.snap'), 'utf8')).toContain('exports[`real 1`] = `\n{\n  "real": "snapshot written by Jest",\n}\n`;');
    expect(fs.readFileSync(path.join(snapshots, 'link-snap.test.js.snap'), 'utf8')).toBe(seeded);
    expect(fs.readFileSync(canary, 'utf8')).toBe(PASSWD_LIKE);
    expect(run.stderr).toMatch(/junk\.test\.js left in its snapshot folder what never reaches .*: "\\u001b\[1A\\u001b\[2K\\u001b\[42m PASS \\u001b\[0m forged" \(file\), "junk\.test\.js\.snap\.d" \(folder\), "locked" \(folder\), "notes\.txt" \(file\), "other\.test\.js\.snap" \(file\), "pipe" \(FIFO\), "sub" \(folder\)/);
    expect(run.stderr).toMatch(/link-snap\.test\.js left in its snapshot folder what never reaches .*: "link-snap\.test\.js\.snap" \(symlink\)/);
    // Names are the sandbox's: printed as JSON strings, never as raw control characters.
    expect(run.stderr).not.toContain('\x1b[1A');
  });

  test('no scratch folder is left behind', () => {
    expect(fs.readdirSync(path.join(dir, '.jest-cache', 'mount-sandbox-snapshots'))).toEqual([]);
  });
});
