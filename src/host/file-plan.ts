// Decides, in Jest's process and before anything is launched, whether a test
// file is sandboxed and what its sandbox looks like.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from '@jest/test-result';
import type { Config } from '@jest/types';
import { formatError, isSandboxError } from '../shared/errors';
import { PROJECT_AT } from '../options/docblock';
import { fileOptionsOf, type FileOptions } from '../options/jest';
import type { CheckedOptions } from '../options/types';
import type { HostView, ProjectChoice } from './defaults';
import { FileFailure } from './file-failure';
import { planSandbox } from './plan';
import type { Tools } from '../shared/sandbox-protocol';
import type { SandboxSpec } from '../shared/spec';
import { jestMounts } from './mount-roles';
import { buildSnapshotResolver, pragmasOfSource, resolveEnvironment } from '../shared/jest-compat';
import { jestModules, packageRoot } from '../shared/jest-modules';
import { createScratch, settleScratch, type SnapshotScratch } from './snapshot-scratch';

/** Every file through which Jest can load this package's environment. */
const OUR_ENVIRONMENTS = new Set(['../index.js', '../inside/environment.js'].map((p) => path.resolve(__dirname, p)).filter((p) => fs.existsSync(p)).map((p) => fs.realpathSync(p)));

export function pragmasOf(testPath: string): Record<string, string | string[]> {
  return pragmasOfSource(fs.readFileSync(testPath, 'utf8'));
}

export function environmentOf(test: Test, pragmas: Record<string, string | string[]>): string {
  const pragma = pragmas['jest-environment'];
  const config = test.context.config;
  if (typeof pragma !== 'string') return config.testEnvironment;
  return resolveEnvironment(config.rootDir, pragma);
}

export function isSandboxed(test: Test): boolean {
  try {
    const environment = environmentOf(test, pragmasOf(test.path));
    return OUR_ENVIRONMENTS.has(fs.realpathSync(environment));
  } catch {
    // Let Jest's own runner report an unresolvable environment in its own words.
    return false;
  }
}

const INLINE_SNAPSHOT = /\b(toMatchInlineSnapshot|toThrowErrorMatchingInlineSnapshot)\b/;

const snapshotResolvers = new Map<string, Promise<{ resolveSnapshotPath(testPath: string): string }>>();

async function snapshotPathOf(config: Config.ProjectConfig, testPath: string): Promise<string> {
  let resolver = snapshotResolvers.get(config.id);
  if (!resolver) {
    resolver = buildSnapshotResolver(config);
    snapshotResolvers.set(config.id, resolver);
  }
  return (await resolver).resolveSnapshotPath(testPath);
}

/** Absolute module paths in the config that the child will load. */
function configModules(config: Config.ProjectConfig): string[] {
  const paths = [
    config.testEnvironment,
    config.testRunner,
    ...config.setupFiles,
    ...config.setupFilesAfterEnv,
    ...config.snapshotSerializers,
    ...config.roots,
    ...config.transform.map(([, transformer]) => transformer),
    ...(config.snapshotResolver ? [config.snapshotResolver] : []),
    ...(config.resolver ? [config.resolver] : []),
  ];
  return paths.filter((p) => path.isAbsolute(p));
}

function tryEnsureDir(dir: string, ensure: (dir: string) => void): boolean {
  try {
    ensure(dir);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return false;
    throw error;
  }
}

/** In Jest the project is an overlay unless told otherwise: tests may write to it, the host never sees it. */
export const JEST_DEFAULT_PROJECT: ProjectChoice = { mode: 'overlay', fallback: 'ro-bind', origin: 'default project (overlay)' };

/**
 * The file's sandbox options: the project's (checked once per Jest project),
 * with the docblock's, which may only narrow them, merged over them. Checked
 * here, in Jest's process, so that a bad option fails only this file and
 * nothing is launched.
 */
export function sandboxOptionsOf(test: Test, pragmas: Record<string, string | string[]>): FileOptions {
  return fileOptionsOf(test.context.config, pragmas, test.path);
}

/**
 * A bad option is the user's to fix, in the words of the option: Jest shows
 * a failed file's stack, and the runner's frames would only bury the message.
 * FileFailure carries an empty one.
 */
function withoutStack(error: unknown): unknown {
  if (!isSandboxError(error) || error.kind !== 'config') return error;
  return FileFailure.of(formatError(error));
}

/**
 * `<cacheDirectory>/mount-sandbox/<project>`: what sandboxed files get as
 * their cacheDirectory. Every sandbox may write it, so it must never be
 * shared with another project: Jest's default cacheDirectory is one per user
 * (/tmp/jest_<uid>), and one folder for all would let a test file of one
 * project rewrite the compiled code of every other. Keyed by the project's
 * real path, not config.id: that one changes with the config file's path and
 * the project's index in `projects`, which would only make the cache cold,
 * and the config may set it to anything, the same in two projects.
 */
export function sandboxCacheOf(config: Config.ProjectConfig): string {
  fs.mkdirSync(config.cacheDirectory, { recursive: true });
  const project = fs.realpathSync(config.rootDir);
  const key = `${path.basename(project).replace(/[^\w.-]/g, '_')}-${crypto.createHash('sha256').update(project).digest('hex').slice(0, 16)}`;
  return path.join(fs.realpathSync(config.cacheDirectory), 'mount-sandbox', key);
}

export interface FilePlan {
  spec: SandboxSpec;
  /** The child's cacheDirectory. */
  cacheDirectory: string;
  options: CheckedOptions;
  /** Host directories this plan created, deepest first, for removal if they stay empty. */
  createdDirs: string[];
  /** Where the sandbox writes this file's snapshots; settled (copied back, removed) when the file ends. */
  snapshots?: SnapshotScratch;
  /**
   * The docblock chose variables (`env`, `envMode`, `home`): the environment
   * is the test's, and Jest's process must not run a transformer under it.
   */
  testChosenEnv: boolean;
}

export async function planTestFile(test: Test, globalConfig: Config.GlobalConfig, tools: Tools, host: HostView): Promise<FilePlan> {
  const { config } = test.context;
  // First, before anything is created on the host: bad options fail the file here.
  let merged: FileOptions;
  try {
    merged = sandboxOptionsOf(test, pragmasOf(test.path));
  } catch (error) {
    throw withoutStack(error);
  }
  const { options } = merged;
  const createdDirs: string[] = [];
  const ensureDir = (dir: string): void => {
    if (fs.existsSync(dir)) return;
    const first = fs.mkdirSync(dir, { recursive: true });
    if (first === undefined) return;
    for (let at = dir; at.startsWith(first); at = path.dirname(at)) createdDirs.push(at);
  };
  // ts-jest, babel-jest and the v8 coverage source maps live here, shared by the sandboxed files across runs.
  // Not Jest's own cacheDirectory: Jest's process runs what it finds there (transformed globalSetup,
  // its haste map), so a sandbox that could write it could run code on the host.
  const cacheDirectory = sandboxCacheOf(config);
  ensureDir(cacheDirectory);
  const snapshotPath = globalConfig.updateSnapshot === 'none' ? undefined : await snapshotPathOf(config, test.path);
  const snapshotDir = snapshotPath === undefined ? undefined : path.dirname(snapshotPath);
  let snapshots: SnapshotScratch | undefined;
  let inlineSnapshots: string | undefined;
  // A folder the user may not create is one Jest could not write to either: leave it as it is,
  // and Jest fails inside only if it really writes a snapshot, as it would without the sandbox.
  // The folder is created anyway (and removed if it stays empty) as the mount point of the scratch
  // folder, which is where the sandbox really writes: see snapshot-scratch.ts.
  if (snapshotPath !== undefined && snapshotDir !== undefined && tryEnsureDir(snapshotDir, ensureDir)) {
    inlineSnapshots = INLINE_SNAPSHOT.test(fs.readFileSync(test.path, 'utf8')) ? fs.realpathSync(test.path) : undefined;
    snapshots = createScratch(snapshotPath, fs.realpathSync(config.cacheDirectory));
  }
  const jest = jestModules();
  const mustSee = [
    test.path,
    ...configModules(config),
    ...[jest.jestRunner, jest.jestRuntime, jest.jestHasteMap, jest.jestResolve].map(packageRoot),
  ];
  let spec: SandboxSpec;
  try {
    spec = planSandbox({
      projectDir: config.rootDir,
      options,
      optionsOrigin: PROJECT_AT,
      optionOrigins: merged.origins,
      defaultProject: JEST_DEFAULT_PROJECT,
      mounts: jestMounts({ cacheDirectory, ...(snapshots ? { snapshots } : {}), ...(inlineSnapshots !== undefined ? { inlineSnapshots } : {}) }),
      mustSee,
    }, tools, host);
  } catch (error) {
    if (snapshots) settleScratch(snapshots, false, globalConfig.updateSnapshot);
    // A missing bind source or an overlay the kernel cannot make: the user's options, in their words too.
    throw withoutStack(error);
  }
  const own = merged.own;
  const testChosenEnv = own !== undefined && (own.env !== undefined || own.envMode !== undefined || own.home !== undefined);
  return { spec, options, cacheDirectory, createdDirs, testChosenEnv, ...(snapshots ? { snapshots } : {}) };
}
