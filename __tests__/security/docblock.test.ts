// The docblock rule, against hostile test files: a file's own
// `@jest-environment-options` may only narrow the sandbox its Jest config
// gives it. Every file of fixtures/hostile-docblock/widen asks for more (a
// writable bind of /, project: 'writable', the network back on, a higher
// limit, a bind outside the project or through a symlink that points out,
// `@jest-environment node` on the host, ...) and must fail before launch,
// naming the option, with none of its code run; the files of narrow/ only
// narrow and must pass, but for those aimed at the chain that builds the
// sandbox, which must fail there. Then the host must
// show no trace of an attack: no pwned-* file in the project, next to it, or
// in a host folder every user may write.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, fileResult, listing, runJest, type JestRun } from '../helpers/jest-run';
import { REPO } from '../helpers/stage';
import { USERS, type User } from '../helpers/run';

const FIXTURE = 'hostile-docblock';
const D = '@jest-environment-options sandbox';
const NARROW = 'a docblock may only narrow the sandbox';
const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Where a widening is allowed, as every such message must say. */
const allowHint = (option: string): RegExp => new RegExp(esc(`set it in testEnvironmentOptions.sandbox instead, or let every file do it with testEnvironmentOptions.sandbox.docblock: { allow: ['${option}'] }`));

/** Each widening file, and what its failure must say (every pattern must match). */
const WIDEN: Record<string, RegExp[]> = {
  'writable-root-bind': [
    new RegExp(`${esc(D)}\\.binds\\[0\\]\\.writable: ${NARROW}: a writable bind lets the file write to the host`),
    new RegExp(`${esc(D)}\\.binds\\[0\\]\\.source: ${NARROW}: the source / lies outside the project`),
    allowHint('binds'),
  ],
  'project-writable': [new RegExp(`${esc(D)}\\.project: ${NARROW}: "writable" is wider than the config's "readonly"`), allowHint('project')],
  'project-overlay': [new RegExp(`${esc(D)}\\.project: ${NARROW}: "overlay" is wider than the config's "readonly"`), allowHint('project')],
  'network-host': [new RegExp(`${esc(D)}\\.network: ${NARROW}: "host" would give the file the host's network`), allowHint('network')],
  'process-limit': [new RegExp(`${esc(D)}\\.processLimit: ${NARROW}: 100000 is above the config's limit of 256`), allowHint('processLimit')],
  'tmpfs-size': [new RegExp(`${esc(D)}\\.tmpfs: ${NARROW}: 2 mounts of 1m \\+ 64g = 65537m are above the config's rootSize of 1g`), allowHint('rootSize')],
  'file-timeout-off': [new RegExp(`${esc(D)}\\.fileTimeout: ${NARROW}: 0 \\(no limit\\) is above the config's limit of 600000`), allowHint('fileTimeout')],
  'bind-outside-project': [new RegExp(`${esc(D)}\\.binds\\[0\\]\\.source: ${NARROW}: the source .*/runs lies outside the project`), allowHint('binds')],
  'symlink-out': [new RegExp(`${esc(D)}\\.binds\\[0\\]\\.source: ${NARROW}: the source .*/link-out \\(really /\\) lies outside the project`), allowHint('binds')],
  'bind-hidden': [new RegExp(`${esc(D)}\\.binds\\[0\\]\\.source: ${NARROW}: the source .*/secret\\.txt would show .*/secret\\.txt, which testEnvironmentOptions\\.sandbox\\.hide\\[0\\] covers`)],
  'writable-bind-in-project': [
    new RegExp(`${esc(D)}\\.binds\\[0\\]\\.writable: ${NARROW}`),
    new RegExp(`${esc(D)}\\.binds\\[0\\]\\.propagation: ${NARROW}`),
  ],
  'uid-root': [new RegExp(`${esc(D)}\\.uid: ${NARROW}: "root" would run the file as uid 0 inside`), allowHint('uid')],
  fixtures: [new RegExp(`${esc(D)}\\.fixtures: ${NARROW}: fixtures map host directories into the sandbox`), allowHint('fixtures')],
  'environment-node': [
    /mount-sandbox: not run, because its docblock \(@jest-environment node\) would run this file unsandboxed, on the host\./,
    /A test file cannot take itself out of the sandbox: its docblock may only narrow it\./,
    /set runner: \['jest-environment-mount-sandbox\/runner', \{ allowUnsandboxed: true \}\] in that config\./,
  ],
  misplaced: [
    /@jest-environment-options: in misplaced\.test\.js's docblock: @jest-environment-options\.network is a sandbox option outside "sandbox", so it is ignored; move it to @jest-environment-options sandbox\.network; @jest-environment-options\.sandbx is ignored; did you mean "sandbox"\?/,
    /the file would run without them, wider than it asked/,
  ],
  'self-allow': [
    new RegExp(`${esc(D)}\\.docblock: a test file cannot allow itself anything`),
    new RegExp(`${esc(D)}\\.binds\\[0\\]\\.writable: ${NARROW}`),
  ],
};

const NARROW_FILES: Record<string, string[]> = {
  narrow: [
    'the read-only bind of data/ is there, and read-only',
    'the tmpfs is writable, the project is not',
    "the config's hide and the file's own both hold",
    'the lower limits, the hostname, the variables and no network apply',
  ],
  'drop-hide': ["the config's hidden secret.txt stays hidden"],
  'env-at-start': ['the variables reach the test, inside a sandbox that was built before they acted'],
  'mount-through-link': ["the tmpfs behind the link is the sandbox's own"],
  'env-in-jest-process': ['the variables reach the test, and nothing of the file ran outside'],
};

/**
 * Files that only narrow by the rule, yet aim at the sandbox's own setup: each
 * must fail, with what its failure must say, having changed nothing.
 */
const CHAIN_FILES: Record<string, RegExp> = {
  // chain/tool.sh, run in place of the init chain's unshare: with no capability, or (as uid 0) CAP_SETFCAP alone.
  'bind-over-chain': /\/usr\/bin\/unshare was replaced by a docblock bind, and held CapEff:\s+(0000000000000000|0000000080000000)$/m,
};

/** Every path below `dir` whose name starts with pwned- (not following links). */
function pwnedBelow(dir: string, depth = 4): string[] {
  if (depth === 0) return [];
  return listing(dir).flatMap((name) => {
    const p = path.join(dir, name);
    const stat = fs.lstatSync(p, { throwIfNoEntry: false });
    return [...(name.startsWith('pwned-') ? [p] : []), ...(stat?.isDirectory() && name !== 'node_modules' ? pwnedBelow(p, depth - 1) : [])];
  });
}

describe.each(USERS)('a docblock cannot widen its own sandbox, as %s', (user: User) => {
  let dir: string;
  let hostDir: string;
  let run: JestRun;
  let projectBefore: string[];

  beforeAll(async () => {
    dir = copyFixture(FIXTURE);
    // A symlink inside the project that points out of it, to the host's root.
    fs.symlinkSync('/', path.join(dir, 'link-out'));
    // Outside the project, writable by every user: only the sandbox stands between an attack and it.
    hostDir = path.join(path.dirname(dir), `host-dir-${crypto.randomBytes(6).toString('hex')}`);
    fs.mkdirSync(hostDir, { mode: 0o777 });
    fs.chmodSync(hostDir, 0o777);
    // The host folder as the init sees it while it builds the root: narrow/mount-through-link mounts through it.
    fs.symlinkSync(`/oldroot${hostDir}`, path.join(dir, 'links', 'host'));
    for (const name of ['mount-through-link', 'env-in-jest-process']) {
      const file = path.join(dir, 'narrow', `${name}.test.js`);
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replaceAll('__PROJECT__', dir));
    }
    projectBefore = listing(dir);
    run = await runJest(user, dir, ['-w', '2'], { HOSTILE_HOST_DIR: hostDir });
  }, 180_000);

  afterAll(() => {
    if (hostDir) fs.rmSync(hostDir, { recursive: true, force: true });
  });

  test('every file of the fixture was reported', () => {
    const expected = [...Object.keys(WIDEN).map((name) => `widen/${name}.test.js`), ...[...Object.keys(NARROW_FILES), ...Object.keys(CHAIN_FILES)].map((name) => `narrow/${name}.test.js`)].sort();
    const fixture = path.join(REPO, 'fixtures', FIXTURE);
    expect([...listing(path.join(fixture, 'widen')).map((f) => `widen/${f}`), ...listing(path.join(fixture, 'narrow')).map((f) => `narrow/${f}`)].sort()).toEqual(expected);
    expect(run.results.testResults.map((file) => path.relative(dir, file.name)).sort()).toEqual(expected);
  });

  test.each(Object.keys(WIDEN))('widen/%s: fails before launch, naming the option, why, and where it is allowed', (name) => {
    const file = fileResult(run.results, `${name}.test.js`);
    expect({ status: file.status, tests: file.assertionResults.length }).toEqual({ status: 'failed', tests: 0 });
    for (const pattern of WIDEN[name]) expect(file.message).toMatch(pattern);
    expect(file.message).toMatch(/^\s+mount-sandbox: /m);
    // A config error is the user's to fix: no stack frames of the runner's internals.
    expect(file.message).not.toMatch(/^\s+at /m);
  });

  test.each(Object.keys(NARROW_FILES))('narrow/%s: only narrows, so it runs and passes', (name) => {
    const file = fileResult(run.results, `${name}.test.js`);
    const failures = file.assertionResults.filter((a) => a.status !== 'passed').map((a) => `${a.fullName}: ${(a.failureMessages ?? []).join('\n')}`);
    expect({ status: file.status, message: file.status === 'passed' ? '' : file.message, failures }).toEqual({ status: 'passed', message: '', failures: [] });
    expect(file.assertionResults.map((a) => a.fullName).sort()).toEqual([...NARROW_FILES[name]].sort());
  });

  test.each(Object.keys(CHAIN_FILES))('narrow/%s: aimed at the chain that builds the sandbox, fails there, and no test runs', (name) => {
    const file = fileResult(run.results, `${name}.test.js`);
    expect({ status: file.status, passed: file.assertionResults.filter((a) => a.status === 'passed').length }).toEqual({ status: 'failed', passed: 0 });
    expect(file.message).toMatch(CHAIN_FILES[name]);
  });

  test('nothing was written on the host: no pwned-* file in the project, next to it, or in the host folder', () => {
    expect([...pwnedBelow(dir), ...pwnedBelow(path.dirname(dir), 2), ...listing(hostDir)]).toEqual([]);
    // narrow/env-at-start's loader log, had its variables reached a program of the chain on the host.
    expect(listing('/tmp').filter((name) => name.startsWith('pwned-ld-debug'))).toEqual([]);
    expect(listing(path.join(dir, 'data'))).toEqual(['extra-secret.txt', 'readme.txt']);
    expect(listing(dir).filter((name) => !name.startsWith('.results-') && name !== '.jest-cache')).toEqual(projectBefore.filter((name) => name !== '.jest-cache'));
    expect(fs.readFileSync(path.join(dir, 'secret.txt'), 'utf8')).toBe('the project secret: host-secret-value\n');
  });
});
