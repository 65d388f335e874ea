// Every decision about a planned mount goes by its role, never by the words
// of its origin (issue 10 §3). Proven by rewording: each origin is mapped
// through a rewriter, once in the planner's inputs (the project choice and
// the option origins, which the planner itself decides by) and once in the
// planned spec (every origin any planner wrote, the defaults' and the
// runner's own included), and every decision must come out the same.
import type { Test } from '@jest/test-result';
import { JEST_DEFAULT_PROJECT, type FilePlan } from '../../src/host/file-plan';
import { jestMounts, projectMount, rebuildBinds, writesToHost } from '../../src/host/mount-roles';
import { planSandbox, type SandboxRequest } from '../../src/host/plan';
import { equivalentCommand } from '../../src/host/sandboxed-file';
import type { CheckedOptions, OptionOrigins } from '../../src/options/types';
import { MOUNT_ROLES, type MountOp, type SandboxSpec } from '../../src/shared/spec';
import { FakeHost } from './fake-host';

const TOOLS = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', sh: '/bin/sh', env: '/usr/bin/env' };
const PROJECT = '/home/u/proj';
const CACHE = '/home/u/.cache/jest/mount-sandbox/proj-0123456789abcdef';
const SNAPSHOT_DIR = `${PROJECT}/__tests__/__snapshots__`;
const SCRATCH = '/home/u/.cache/jest/mount-sandbox-snapshots/42-abcdef';
const TEST_FILE = `${PROJECT}/__tests__/a.test.js`;

const host = new FakeHost({
  '/usr/bin/node': 'file',
  '/usr/bin/unshare': 'file',
  '/etc/passwd': 'file',
  '/bin': '-> usr/bin',
  [TEST_FILE]: 'file',
  [`${SNAPSHOT_DIR}/a.test.js.snap`]: 'file',
  [`${PROJECT}/.tmp`]: 'dir',
  [`${PROJECT}/node_modules/jest/package.json`]: 'file',
  '/home/u/data/in.txt': 'file',
  '/home/u/out': 'dir',
  '/home/u/fixture/f.txt': 'file',
  [`${CACHE}/x`]: 'file',
  [`${SCRATCH}/a.test.js.snap`]: 'file',
});
// TMPDIR inside the project: the planner decides by the project's mount whether it becomes a tmpfs there.
const facts = { execPath: '/usr/bin/node', home: '/home/u', projectDir: PROJECT, env: { PATH: '/usr/bin', TMPDIR: `${PROJECT}/.tmp` } };

type Rewrite = (origin: string) => string;
const REWRITERS: Array<[string, Rewrite]> = [
  ['reversed', (origin) => `«${[...origin].reverse().join('')}»`],
  ['all the same', () => 'a mount'],
  ['shouting', (origin) => origin.toUpperCase().replace(/[aeiou ]/gi, '_')],
];

function rewordSpec(spec: SandboxSpec, rewrite: Rewrite): SandboxSpec {
  return { ...spec, mounts: spec.mounts.map((op) => (op.origin === undefined ? op : { ...op, origin: rewrite(op.origin) })) };
}

function rewordOrigins(origins: OptionOrigins, rewrite: Rewrite): OptionOrigins {
  const map = (record: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, rewrite(v)]));
  return {
    binds: origins.binds.map(rewrite),
    tmpfs: origins.tmpfs.map(rewrite),
    hide: origins.hide.map(rewrite),
    fixtures: map(origins.fixtures),
    scalars: map(origins.scalars as Record<string, string>),
  };
}

/** A test file's request as planTestFile makes it, with Jest's writable mounts from the runner's own builder. */
function request(options: CheckedOptions, rewrite: Rewrite = (o) => o): SandboxRequest {
  const origins: OptionOrigins = {
    binds: (options.binds ?? []).map((_, i) => `testEnvironmentOptions.sandbox.binds[${i}]`),
    tmpfs: (options.tmpfs ?? []).map((_, i) => `testEnvironmentOptions.sandbox.tmpfs[${i}]`),
    hide: (options.hide ?? []).map((_, i) => `testEnvironmentOptions.sandbox.hide[${i}]`),
    fixtures: Object.fromEntries(Object.keys(options.fixtures ?? {}).map((target) => [target, `testEnvironmentOptions.sandbox.fixtures[${JSON.stringify(target)}]`])),
    scalars: options.project ? { project: 'testEnvironmentOptions.sandbox.project' } : {},
  };
  return {
    projectDir: PROJECT,
    options,
    optionsOrigin: rewrite('testEnvironmentOptions.sandbox'),
    optionOrigins: rewordOrigins(origins, rewrite),
    defaultProject: { ...JEST_DEFAULT_PROJECT, origin: rewrite(JEST_DEFAULT_PROJECT.origin) },
    mounts: jestMounts({ cacheDirectory: CACHE, snapshots: { dir: SCRATCH, realDir: SNAPSHOT_DIR }, inlineSnapshots: TEST_FILE }),
    // A needed tree that holds the project: the planner must place it before the project's mount.
    mustSee: [TEST_FILE, '/home/u'],
  };
}

/** What overlayfs would refuse on this host: the default project then falls back to read-only. */
function fellBack(spec: SandboxSpec): SandboxSpec {
  return { ...spec, mounts: spec.mounts.map((op) => (op.type === 'overlay' && op.role === 'project' ? { ...op, skipOverlay: 'not yours' } : op)) };
}

const withoutOrigins = (mounts: MountOp[]): Array<Omit<MountOp, 'origin'>> => mounts.map(({ origin: _origin, ...rest }) => rest);

/** Every decision Jest's process makes from a planned spec. */
function decisions(spec: SandboxSpec, options: CheckedOptions): unknown {
  const plan: FilePlan = {
    spec,
    options,
    cacheDirectory: CACHE,
    createdDirs: [],
    testChosenEnv: false,
    snapshots: { dir: SCRATCH, realDir: SNAPSHOT_DIR, identity: { dev: 1, ino: 2 }, name: 'a.test.js.snap', seeded: undefined },
  };
  const test = { path: TEST_FILE, context: { config: { rootDir: '/' } } } as unknown as Test;
  const project = projectMount(spec);
  return {
    project: project && { type: project.type, dest: project.dest },
    rebuild: rebuildBinds(spec).map((op) => [op.source, op.dest]),
    writesToHost: writesToHost(spec),
    command: equivalentCommand(test, plan),
  };
}

const SCENARIOS: Array<[string, CheckedOptions]> = [
  ['the default project', {}],
  ['a writable project', { project: 'writable' }],
  ['a read-only project with the user\'s mounts', {
    project: 'readonly',
    binds: [{ source: '/home/u/data', target: '/data', writable: false }, { source: '/home/u/out', target: '/out', writable: true }],
    tmpfs: [{ target: '/scratch', size: 1024 ** 2 }],
    fixtures: { '/fixture': '/home/u/fixture' },
    hide: ['/home/u/data/in.txt'],
  }],
];

describe.each(REWRITERS)('origins %s', (_name, rewrite) => {
  test.each(SCENARIOS)('%s: the planner places and chooses the same mounts', (_scenario, options) => {
    const plain = planSandbox(request(options), TOOLS, host, facts);
    const reworded = planSandbox(request(options, rewrite), TOOLS, host, facts);
    expect(withoutOrigins(reworded.mounts)).toEqual(withoutOrigins(plain.mounts));
    expect(reworded.env).toEqual(plain.env);
  });

  test.each(SCENARIOS)('%s: every decision about the planned spec is the same', (_scenario, options) => {
    for (const spec of [planSandbox(request(options), TOOLS, host, facts), fellBack(planSandbox(request(options), TOOLS, host, facts))]) {
      expect(decisions(rewordSpec(spec, rewrite), options)).toEqual(decisions(spec, options));
    }
  });
});

describe('the decisions themselves', () => {
  const plan = (options: CheckedOptions): SandboxSpec => planSandbox(request(options), TOOLS, host, facts);

  test('every planned mount has a role from the closed list', () => {
    for (const [, options] of SCENARIOS) for (const op of plan(options).mounts) expect(MOUNT_ROLES).toContain(op.role);
  });

  test('the project is found before a needed tree that holds it, and TMPDIR inside it is a tmpfs', () => {
    const mounts = plan({}).mounts;
    const project = mounts.findIndex((op) => op.role === 'project');
    expect(mounts[project]).toMatchObject({ type: 'overlay', dest: PROJECT });
    expect(project).toBeGreaterThan(mounts.findIndex((op) => op.role === 'toolchain' && op.dest === '/home/u'));
    expect(mounts).toContainEqual(expect.objectContaining({ type: 'tmpfs', dest: `${PROJECT}/.tmp`, role: 'tmp' }));
  });

  test('Jest\'s own writable binds do not write to the host; a writable project or bind does', () => {
    expect(writesToHost(plan({}))).toBe(false);
    expect(writesToHost(plan({ project: 'writable' }))).toBe(true);
    expect(writesToHost(plan({ binds: [{ source: '/home/u/out', target: '/out', writable: true }] }))).toBe(true);
    expect(writesToHost(plan({ binds: [{ source: '/home/u/data', target: '/data', writable: false }] }))).toBe(false);
  });

  test('the command that rebuilds the sandbox binds the cache and the inline-snapshot file, and says when the project fell back', () => {
    const { command: overlay } = decisions(plan({}), {}) as { command: string };
    const { command: readonly } = decisions(fellBack(plan({})), {}) as { command: string };
    expect(overlay).toContain('"project":"overlay"');
    expect(readonly).toContain('"project":"readonly"');
    expect(readonly).toContain(`--bind ${CACHE}:${CACHE} --bind ${TEST_FILE}:${TEST_FILE}`);
    expect(rebuildBinds(plan({})).map((op) => op.role)).toEqual(['cache', 'inline-snapshots']);
  });
});
