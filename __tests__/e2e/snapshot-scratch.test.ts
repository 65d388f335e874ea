// Snapshots go through a scratch folder: the life cycle Jest gives them
// (written, kept when obsolete, removed with -u, obsolete files of deleted
// tests removed) is unchanged, in an overlay project and a read-only one.
// And the `mount-sandbox run` line that MOUNT_SANDBOX_DEBUG=1 prints works
// pasted into a shell after the run, scratch folder long gone.
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { currentStage } from '../helpers/stage';
import { run, USERS, type User } from '../helpers/run';

const SLOW = 180_000;
const SNAPSHOTS = path.join('__tests__', '__snapshots__');
const OBSOLETE = '// Jest Snapshot v1, https://jestjs.io/docs/snapshot-testing\n\nexports[`gone 1`] = `"of a test file that no longer exists"`;\n';

/** The line printed for the one file of the run. */
function printedLine(jest: JestRun): string {
  const lines = [...jest.stderr.matchAll(/runs in the sandbox of:\n {2}(.*)$/gm)].map((m) => m[1]);
  if (lines.length !== 1) throw new Error(`expected one printed command line, got ${lines.length}:\n${jest.stderr}`);
  return lines[0];
}

/** Pastes the line into sh, with `sh -c SCRIPT` where it says `sh`, and `mount-sandbox` on the PATH as an installed package puts it. */
async function paste(user: User, line: string, script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  expect(line).toMatch(/ -- sh$/);
  expect(script).not.toContain("'");
  const bin = path.join(currentStage().root, 'bin');
  fs.mkdirSync(bin, { recursive: true, mode: 0o755 });
  const wrapper = path.join(bin, 'mount-sandbox');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${currentStage().cli}' "$@"\n`, { mode: 0o755 });
  return run(user, ['sh', '-c', `${line.replace(/ -- sh$/, '')} -- sh -c '${script}'`], { env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` }, timeoutMs: 60_000 });
}

describe.each(USERS)('snapshots through the scratch folder, as %s', (user: User) => {
  test.each(['jest.config.js', 'jest.readonly.config.js'])('%s: written, kept when obsolete, removed with -u; obsolete files of deleted tests removed with -u', async (config) => {
    const dir = copyFixture('snapshots');
    const snapshots = path.join(dir, SNAPSHOTS);
    const snap = path.join(snapshots, 'value.test.js.snap');
    const args = ['--config', config];

    const first = await runJest(user, dir, args, { SNAPSHOT_VALUE: 'first' });
    expect(first.code).toBe(0);
    expect(first.results.snapshot.added).toBe(1);
    expect(fs.readFileSync(snap, 'utf8')).toContain('"greeting": "first"');
    fs.writeFileSync(path.join(snapshots, 'gone.test.js.snap'), OBSOLETE, { mode: 0o666 });
    const written = fs.readFileSync(snap, 'utf8');

    const unchecked = await runJest(user, dir, args, { SNAPSHOT_SKIP: '1' });
    expect(outcomes(unchecked.results)).toEqual({ 'value.test.js › value': 'passed' });
    expect(unchecked.results.snapshot.unchecked).toBe(1);
    expect(fs.readFileSync(snap, 'utf8')).toBe(written);
    expect(fs.existsSync(path.join(snapshots, 'gone.test.js.snap'))).toBe(true);

    const update = await runJest(user, dir, [...args, '-u'], { SNAPSHOT_SKIP: '1' });
    expect(update.code).toBe(0);
    // One removed by Jest inside the sandbox (no snapshot of the file left), one by Jest's own process (its test file is gone).
    expect(update.results.snapshot.filesRemoved).toBe(2);
    expect(fs.readdirSync(snapshots)).toEqual([]);
  }, SLOW);
});

describe.each(USERS)('the printed command line, pasted, as %s', (user: User) => {
  test('inline snapshots: the run created and removed the snapshot folder; the line still works', async () => {
    const dir = copyFixture('inline-snapshots');
    const jest = await runJest(user, dir, [], { MOUNT_SANDBOX_DEBUG: '1' });
    expect(jest.code).toBe(0);
    expect(fs.existsSync(path.join(dir, SNAPSHOTS))).toBe(false);
    const pasted = await paste(user, printedLine(jest), 'echo inside > /tmp/probe && cat /tmp/probe && grep -c toMatchInlineSnapshot __tests__/inline.test.js');
    expect({ code: pasted.code, stderr: pasted.stderr }).toEqual({ code: 0, stderr: '' });
    expect(pasted.stdout).toBe('inside\n1\n');
  }, SLOW);

  test.each(['jest.config.js', 'jest.readonly.config.js'])('%s: the pasted sandbox sees the snapshot, may write next to it, and nothing reaches the host', async (config) => {
    const dir = copyFixture('snapshots');
    const snapshots = path.join(dir, SNAPSHOTS);
    const first = await runJest(user, dir, ['--config', config], { SNAPSHOT_VALUE: 'first' });
    expect(first.code).toBe(0);
    const jest = await runJest(user, dir, ['--config', config], { SNAPSHOT_VALUE: 'first', MOUNT_SANDBOX_DEBUG: '1' });
    expect(jest.code).toBe(0);
    const line = printedLine(jest);
    const readonly = config.includes('readonly');
    // Writable where the project is an overlay (as nobody, in a tree root owns, the run fell back to read-only); never on the host.
    const project = readonly ? 'test ! -w package.json && ! touch written-to-project 2>/dev/null' : '{ touch written-to-project 2>/dev/null || true; }';
    const pasted = await paste(user, line, `echo probe > ${SNAPSHOTS}/probe && cat ${SNAPSHOTS}/value.test.js.snap && ${project} && echo done`);
    expect({ code: pasted.code, stderr: pasted.stderr }).toEqual({ code: 0, stderr: '' });
    expect(pasted.stdout).toContain('"greeting": "first"');
    expect(pasted.stdout).toMatch(/done\n$/);
    expect(fs.readdirSync(snapshots)).toEqual(['value.test.js.snap']);
    expect(fs.existsSync(path.join(dir, 'written-to-project'))).toBe(false);
  }, SLOW);
});
