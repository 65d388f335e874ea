// The adversarial suite, first half: escapes. Every file of
// fixtures/hostile-escape is a hostile test that tries to break out of its
// sandbox or damage the host (remounts, umounts, new namespaces, '..',
// /proc magic links, inherited descriptors, chroot, pivot_root, symlinks,
// hard links, sysctls, device nodes, daemons, Jest's shared cache), and
// passes only when its attack fails. One real Jest run per user runs them
// all, and a second, short one lets the host's Jest use the cache the first
// left behind; then each file must have passed, and the host must be exactly
// as before: canary files the attacks aim at, the mount table, /tmp, and no
// process left behind.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, fileFailures, fileResult, listing, runJest, type JestRun } from '../helpers/jest-run';
import { mountPoints, sandboxProcessesIn } from '../helpers/host-state';
import { REPO, currentStage } from '../helpers/stage';
import { sleep } from '../helpers/wait';
import type { Config } from '@jest/types';
import { sandboxCacheOf } from '../../src/host/file-plan';
import { HOST_CASES, NO_USERNS_FALLBACK, NO_USERNS_HOST, type HostMode, type User } from '../helpers/run';

const FIXTURE = 'hostile-escape';

/** One file per attack; a file missing from the run fails its own test. */
const ATTACKS = [
  'remount-rw.test.js',
  'bind-shadow.test.js',
  'umount.test.js',
  'new-mount-ns.test.js',
  'new-user-ns.test.js',
  'dotdot-traversal.test.js',
  'proc-root.test.js',
  'proc-fd.test.js',
  'openat.test.js',
  'chroot-escape.test.js',
  'pivot-root.test.js',
  'host-files.test.js',
  'symlink-writes.test.js',
  'hardlinks.test.js',
  'proc-sys.test.js',
  'mknod-dev.test.js',
  'detached-daemon.test.js',
  'cache-poison.test.js',
  'cache-plant-use.test.js',
  'lockdown-threadpool.test.js',
  'lockdown-worker.test.js',
  'lockdown-child.test.js',
  'lockdown-unshare.test.js',
  'setid-files.test.js',
];

/** Files and folders below `dir` with S_ISUID or S_ISGID, on the host: what setid-files.test.js tried to leave in the sandboxes' cache. */
function setidFiles(dir: string): string[] {
  return listing(dir).flatMap((name) => {
    const p = path.join(dir, name);
    const stat = fs.lstatSync(p, { throwIfNoEntry: false });
    if (stat === undefined) return [];
    const bits = (stat.mode & 0o6000) !== 0 ? [`${p} ${(stat.mode & 0o7777).toString(8)}`] : [];
    return [...bits, ...(stat.isDirectory() ? setidFiles(p) : [])];
  });
}

/** The folders setid-files.test.js made in the sandboxes' cache, by chain. */
function setidAttackDirs(dir: string): string[] {
  const found: string[] = [];
  const visit = (d: string, depth: number): void => {
    for (const name of listing(d)) {
      const p = path.join(d, name);
      if (name.startsWith('hostile-setid-')) found.push(path.relative(dir, p));
      else if (depth > 0 && fs.lstatSync(p).isDirectory()) visit(p, depth - 1);
    }
  };
  visit(path.join(dir, '.jest-cache'), 3);
  return found;
}

/**
 * What identifies a file's content and metadata: any write, chmod, chown,
 * touch or replacement changes it. Not ctime: the staged node_modules are
 * hard links, and every concurrent staging that links them changes it.
 */
function fingerprint(p: string): string {
  try {
    const stat = fs.lstatSync(p);
    const content = stat.isFile() ? crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex') : '';
    return `${stat.ino} ${stat.mode.toString(8)} ${stat.uid}:${stat.gid} ${stat.size} ${stat.mtimeMs} ${content}`;
  } catch (error) {
    return `missing (${(error as NodeJS.ErrnoException).code})`;
  }
}

/** Every path below `dir` (not following links), for a search by name. */
function walk(dir: string, depth = 6): string[] {
  if (depth === 0) return [];
  return listing(dir).flatMap((name) => {
    const p = path.join(dir, name);
    const stat = fs.lstatSync(p, { throwIfNoEntry: false });
    return [p, ...(stat?.isDirectory() && name !== 'node_modules' ? walk(p, depth - 1) : [])];
  });
}

/** Host processes that carry the run's marker in their environment, or whose cwd is in the fixture copy. */
function survivors(marker: string, dir: string): string[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid).flatMap((pid) => {
    try {
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      if (environ.includes(`HOSTILE_MARKER=${marker}`) || cwd === dir || cwd.startsWith(`${dir}/`)) {
        return [`${pid} (cwd ${cwd}): ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`];
      }
    } catch {
      // gone, or a kernel thread
    }
    return [];
  });
}


describe.each(HOST_CASES)('hostile test files, as %s cannot escape or touch the host', (_name: string, user: User, hostMode: HostMode) => {
  const marker = `hostile-${crypto.randomBytes(6).toString('hex')}`;
  let dir: string;
  let run: JestRun;
  let initChainSetid: JestRun | undefined;
  const prefix = hostMode === 'root-no-userns' ? NO_USERNS_HOST : [];
  let paths: Record<string, string>;
  const before: { prints: Record<string, string>; mounts: string[]; tmp: string[] } = { prints: {}, mounts: [], tmp: [] };

  beforeAll(async () => {
    const stage = currentStage();
    dir = copyFixture(FIXTURE);
    const runs = path.dirname(dir);
    // The sandboxes' cache of this copy, where cache-poison.test.js plants what cache-plant-use.test.js requires.
    const plantUse = path.join(dir, '__tests__', 'cache-plant-use.test.js');
    const jestCache = path.join(dir, '.jest-cache');
    // Made here, so made writable for nobody.
    fs.mkdirSync(jestCache, { mode: 0o777 });
    fs.chmodSync(jestCache, 0o777);
    const sandboxCache = sandboxCacheOf({ rootDir: dir, cacheDirectory: jestCache } as Config.ProjectConfig);
    fs.writeFileSync(plantUse, fs.readFileSync(plantUse, 'utf8').replaceAll('__SANDBOX_CACHE__', sandboxCache));
    paths = {
      // In the project (a read-only bind inside): the attacks try to overwrite, delete or shadow it.
      projectCanary: path.join(dir, `canary-${marker}.txt`),
      // Next to the fixture copy, on the host only: nothing inside may reach it.
      hostCanary: path.join(runs, `canary-${marker}.txt`),
      sibling: path.join(runs, `sibling-${marker}`),
      // In the project, which is read-only inside: only code running on the host can create it.
      pwned: path.join(dir, `pwned-${marker}`),
    };
    // World-writable, so that only the sandbox stands between nobody and them.
    for (const canary of [paths.projectCanary, paths.hostCanary]) {
      fs.writeFileSync(canary, `canary ${marker}\n`);
      fs.chmodSync(canary, 0o666);
    }
    fs.mkdirSync(paths.sibling, { mode: 0o777 });
    fs.chmodSync(paths.sibling, 0o777);
    fs.writeFileSync(path.join(paths.sibling, 'secret'), 'a sibling project\'s secret\n', { mode: 0o666 });
    // Files, not the project's or runs' directories: Jest writes its results file there.
    const watched = [
      paths.projectCanary, paths.hostCanary, path.join(paths.sibling, 'secret'), paths.sibling,
      '/usr/bin/env', '/usr/bin', '/etc/passwd', '/etc/shadow', '/etc', '/usr',
      path.join(stage.project, 'node_modules', 'jest', 'package.json'), path.join(stage.project, 'node_modules'),
      path.join(dir, 'jest.config.js'), path.join(dir, 'hostile.js'), path.join(REPO, 'package.json'),
    ];
    before.prints = Object.fromEntries(watched.map((p) => [p, fingerprint(p)]));
    before.mounts = mountPoints();
    before.tmp = listing('/tmp');
    const env = {
      HOSTILE_MARKER: marker,
      HOSTILE_PROJECT_CANARY: paths.projectCanary,
      HOSTILE_HOST_CANARY: paths.hostCanary,
      HOSTILE_SIBLING: paths.sibling,
      HOSTILE_REPO: REPO,
      HOSTILE_STAGE_ROOT: stage.root,
      HOSTILE_PWNED: paths.pwned,
    };
    run = await runJest(user, dir, ['-w', '2'], env, 120_000, prefix);
    // The init chain has a filter of its own against set-id files: the same attack there, with a nested user namespace allowed.
    // (Without user namespaces the run above was in the init chain already.)
    if (hostMode === 'userns') initChainSetid = await runJest(user, dir, ['--runTestsByPath', '__tests__/setid-files.test.js'], { ...env, MOUNT_SANDBOX_ONE_NODE: '0' });
    // The host's Jest again, on the same copy and its cache, with one changed
    // file so that it persists its haste map: whatever cache-poison.test.js
    // left in the cache now runs or writes on the host, if it can, and the host keys what it planted.
    fs.writeFileSync(path.join(dir, 'changed-between-runs.js'), '\n', { mode: 0o666 });
    await runJest(user, dir, ['--runTestsByPath', '__tests__/new-mount-ns.test.js', '__tests__/cache-plant-use.test.js'], env, 120_000, prefix).catch(() => undefined);
  }, 240_000);

  afterAll(() => {
    if (paths) for (const p of [paths.hostCanary, paths.sibling]) fs.rmSync(p, { recursive: true, force: true });
  });

  test(`the run was in mode ${hostMode}`, () => {
    if (hostMode === 'root-no-userns') expect(run.stderr).toMatch(NO_USERNS_FALLBACK);
    else expect(run.stderr).not.toMatch(/user namespaces are refused/);
  });

  test('every hostile file ran', () => {
    expect(listing(path.join(REPO, 'fixtures', FIXTURE, '__tests__'))).toEqual([...ATTACKS].sort());
    expect(run.results.testResults.map((file) => path.basename(file.name)).sort()).toEqual([...ATTACKS].sort());
  });

  test.each(ATTACKS)('%s: the attack failed (the file passed)', (file) => {
    expect(fileFailures(run.results, file)).toEqual({ file, status: 'passed', message: '', failures: [] });
    expect(fileResult(run.results, file).assertionResults.length).toBeGreaterThan(0);
  });

  test('the canaries, the sibling project, /usr, /etc, node_modules and the repository are unchanged', () => {
    const after = Object.fromEntries(Object.keys(before.prints).map((p) => [p, fingerprint(p)]));
    expect(after).toEqual(before.prints);
    expect(fs.readFileSync(paths.projectCanary, 'utf8')).toBe(`canary ${marker}\n`);
    expect(fs.readFileSync(paths.hostCanary, 'utf8')).toBe(`canary ${marker}\n`);
    expect(listing(paths.sibling)).toEqual(['secret']);
  });

  if (hostMode === 'userns') test('setid-files.test.js in the init chain (MOUNT_SANDBOX_ONE_NODE=0): the attack failed there too', () => {
    const result = fileResult((initChainSetid as JestRun).results, 'setid-files.test.js');
    const failures = result.assertionResults.filter((a) => a.status !== 'passed').map((a) => `${a.fullName}: ${(a.failureMessages ?? []).join('\n')}`);
    expect({ status: result.status, message: result.status === 'passed' ? '' : result.message, failures }).toEqual({ status: 'passed', message: '', failures: [] });
  });

  test('no setuid or setgid file or folder on the host: in the whole fixture copy, the sandboxes\' cache included, from either chain', () => {
    // The attack reached the host (its files are there, in the cache), and left no bit.
    const chains = hostMode === 'userns' ? ['hostile-setid-init', 'hostile-setid-one-node'] : ['hostile-setid-init'];
    expect(setidAttackDirs(dir).map((p) => path.basename(p)).sort()).toEqual(chains);
    for (const attack of setidAttackDirs(dir)) expect(listing(path.join(dir, attack)).length).toBeGreaterThan(3);
    expect(setidFiles(dir)).toEqual([]);
  });

  test('nothing planted in Jest\'s cache ran on the host: no file written by the host\'s Jest for the attack', () => {
    expect(fs.existsSync(paths.pwned) ? fs.readFileSync(paths.pwned, 'utf8') : 'absent').toBe('absent');
  });

  test('no file named after the run exists anywhere the attacks aimed', () => {
    const stage = currentStage();
    const places = ['/', '/tmp', '/usr', '/usr/bin', '/etc', '/var/tmp', '/work', REPO, path.join(REPO, 'fixtures', FIXTURE), stage.root, stage.project, path.join(stage.project, 'node_modules')];
    const ours = [paths.projectCanary, paths.hostCanary, paths.sibling, paths.pwned];
    const named = [...places.flatMap((p) => listing(p).map((name) => path.join(p, name))), ...walk(path.dirname(dir))]
      .filter((p) => path.basename(p).includes(marker) && !ours.includes(p) && !p.startsWith(`${paths.sibling}/`));
    expect(named).toEqual([]);
    // The fixture copy holds what was copied, the canary, Jest's cache and the file changed between the runs: nothing an attack planted.
    const added = [path.basename(paths.projectCanary), '.jest-cache', 'changed-between-runs.js'];
    expect(listing(dir).filter((name) => !name.startsWith('.results-') && name !== path.basename(paths.pwned)))
      .toEqual([...listing(path.join(REPO, 'fixtures', FIXTURE)), ...added].sort());
  });

  test('no new mount on the host', () => {
    expect(mountPoints().filter((m) => !before.mounts.includes(m))).toEqual([]);
  });

  test('no new entry in the host\'s /tmp from the attacks', () => {
    // Everything the attacks create in their /tmp is named hostile-…, most of it after the run's marker.
    // Other new entries are not compared: concurrent runs of other suites create theirs.
    expect(listing('/tmp').filter((name) => !before.tmp.includes(name) && (name.includes(marker) || name.startsWith('hostile-')))).toEqual([]);
  });

  test('no process outlived the run: none carries its marker, none has its cwd in the fixture copy', async () => {
    let left = survivors(marker, dir);
    for (let i = 0; i < 20 && left.length > 0; i++) {
      await sleep(100);
      left = survivors(marker, dir);
    }
    expect(left).toEqual([]);
    expect(sandboxProcessesIn(dir)).toEqual([]);
  });
});
