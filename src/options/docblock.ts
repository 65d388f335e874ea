// The docblock rule: a test file's own `@jest-environment-options` may only
// NARROW the sandbox its Jest config gives it. Test code may be hostile, and
// the docblock is test code: if it could widen its sandbox (a writable bind
// of `/`, `project: 'writable'`, network back on), the sandbox would be the
// test's own choice. Whatever widens must come from the Jest config, or be
// allowed there by name (`sandbox.docblock.allow`). Checked before launch:
// a file that asks for more fails, and none of its code runs.
import fs from 'node:fs';
import { configError } from '../shared/errors';
import { isUnder, realpathOrUndefined } from '../shared/paths';
import { formatSize } from '../shared/size';
import { DEFAULTS } from './defaults';
import type { Issues } from './issues';
import { misplacedOptions } from './misplaced';
import type { Merged } from './compile';
import type { CheckedOptions, DocblockAllowable, ProjectMode } from './types';

export const DOCBLOCK_AT = '@jest-environment-options sandbox';
export const PROJECT_AT = 'testEnvironmentOptions.sandbox';

/** The docblock's `sandbox` value, parsed once; undefined when the file sets no options. */
export function docblockSandbox(pragmas: Record<string, string | string[]>, fileName: string): unknown {
  const raw = pragmas['jest-environment-options'];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw configError('@jest-environment-options', 'given more than once in the docblock; give one JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw configError('@jest-environment-options', `invalid JSON in ${fileName}'s docblock: ${(error as Error).message}`, 'write a JSON object, e.g. {"sandbox": {"network": "none"}}');
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const misplaced = misplacedOptions(parsed as Record<string, unknown>, '@jest-environment-options', DOCBLOCK_AT);
  if (misplaced.length > 0) {
    throw configError('@jest-environment-options', `in ${fileName}'s docblock: ${misplaced.join('; ')}`, 'the file would run without them, wider than it asked');
  }
  return (parsed as Record<string, unknown>).sandbox;
}

/** Narrowest first: readonly shows the project, overlay also lets the file write (discarded; overlayfs is more kernel), writable reaches the host. */
const PROJECT_RANK: Record<ProjectMode, number> = { readonly: 0, overlay: 1, writable: 2 };

/** A limit where 0 means none. */
const unlimitedIfZero = (value: number): number => (value === 0 ? Infinity : value);

function allowHint(option: DocblockAllowable): string {
  return `set it in ${PROJECT_AT} instead, or let every file do it with ${PROJECT_AT}.docblock: { allow: ['${option}'] }`;
}

/**
 * Every way `file` (the docblock's checked options) would widen `project`
 * (the Jest config's), as issues naming the option, why it widens, and where
 * it is allowed. `rootDir` is the project, the only tree a docblock may bind.
 */
export function checkNarrows(project: Merged, file: CheckedOptions, rootDir: string, issues: Issues): void {
  const base = project.options;
  const allowed = new Set<string>(base.docblock?.allow ?? DEFAULTS.docblock.allow);
  const widens = (option: DocblockAllowable, field: string, why: string): void => {
    if (!allowed.has(option)) issues.add(`${DOCBLOCK_AT}.${field}`, `a docblock may only narrow the sandbox: ${why}`, allowHint(option));
  };

  if (file.docblock !== undefined) {
    issues.add(`${DOCBLOCK_AT}.docblock`, 'a test file cannot allow itself anything: which options a docblock may widen is for the Jest config to say', `set ${PROJECT_AT}.docblock in the Jest config`);
  }
  if (!allowed.has('binds')) checkBinds(project, file, rootDir, issues);
  if (file.fixtures !== undefined && Object.keys(file.fixtures).length > 0) {
    widens('fixtures', 'fixtures', 'fixtures map host directories into the sandbox');
  }
  const baseProject = base.project ?? DEFAULTS.project.jest;
  if (file.project !== undefined && PROJECT_RANK[file.project] > PROJECT_RANK[baseProject]) {
    const why = file.project === 'writable' ? 'writes would reach the host\'s project' : 'the file could write to the project (discarded, but more than read-only, and overlayfs is more kernel to attack)';
    widens('project', 'project', `"${file.project}" is wider than the config's "${baseProject}": ${why}`);
  }
  if (file.network === 'host' && (base.network ?? DEFAULTS.network) === 'none') {
    widens('network', 'network', '"host" would give the file the host\'s network, which the config turns off');
  }
  if (file.uid === 'root' && (base.uid ?? DEFAULTS.uid) !== 'root') {
    widens('uid', 'uid', '"root" would run the file as uid 0 inside, which the config does not');
  }
  if (file.envMode === 'inherit' && (base.envMode ?? DEFAULTS.envMode) === 'clean') {
    widens('envMode', 'envMode', '"inherit" would pass Jest\'s whole environment, secrets included, which the config keeps out');
  }
  // Each tmpfs is a disk of its own, and memory: together, a docblock's may be
  // no larger than the root the config allows. An unsized one gets the file's
  // rootSize (see planSandbox), so it counts as that.
  const rootLimit = base.rootSize ?? DEFAULTS.rootSize;
  const sizes = (file.tmpfs ?? []).map((entry) => entry.size ?? file.rootSize ?? rootLimit);
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total > rootLimit) {
    const what = sizes.length === 1 ? `${formatSize(total)} is` : `${sizes.length} mounts of ${sizes.map(formatSize).join(' + ')} = ${formatSize(total)} are`;
    widens('rootSize', 'tmpfs', `${what} above the config's rootSize of ${formatSize(rootLimit)}; a docblock's tmpfs mounts may together be at most as large as the root (one without a size counts as the file's rootSize)`);
  }
  const limits = [
    ['processLimit', file.processLimit, base.processLimit ?? DEFAULTS.processLimit, (v: number) => v, String],
    ['rootSize', file.rootSize, base.rootSize ?? DEFAULTS.rootSize, (v: number) => v, formatSize],
    ['fileTimeout', file.fileTimeout, base.fileTimeout ?? DEFAULTS.fileTimeout, unlimitedIfZero, String],
  ] as const;
  for (const [option, value, limit, measure, show] of limits) {
    if (value !== undefined && measure(value) > measure(limit)) {
      widens(option, option, `${value === 0 ? '0 (no limit)' : show(value)} is above the config's limit of ${show(limit)}${option === 'fileTimeout' && limit === 0 ? ' (none)' : ''}; a file may only lower it`);
    }
  }
}

/**
 * A docblock bind must be read-only, plain, and show only what the file
 * already sees: its source's realpath inside the project (a symlink in the
 * project that points out counts as out), and not over, under or around a
 * path the config hides or covers with a mount of its own.
 */
function checkBinds(project: Merged, file: CheckedOptions, rootDir: string, issues: Issues): void {
  const projectReal = realpathOrUndefined(fs.realpathSync, rootDir) ?? rootDir;
  const covered: Array<[string, string]> = [
    ...(project.options.hide ?? []).map((p, i): [string, string] => [p, project.origins.hide[i]]),
    ...(project.options.tmpfs ?? []).map((t, i): [string, string] => [t.target, project.origins.tmpfs[i]]),
    ...(project.options.binds ?? []).map((b, i): [string, string] => [b.target, project.origins.binds[i]]),
    ...Object.keys(project.options.fixtures ?? {}).map((t): [string, string] => [t, project.origins.fixtures[t]]),
  ].flatMap(([p, origin]) => {
    const real = realpathOrUndefined(fs.realpathSync, p);
    return real !== undefined && real !== p ? [[p, origin], [real, origin]] : [[p, origin]];
  });
  const hint = allowHint('binds');
  (file.binds ?? []).forEach((bind, i) => {
    const at = `${DOCBLOCK_AT}.binds[${i}]`;
    const say = (field: string, why: string): void => issues.add(`${at}${field}`, `a docblock may only narrow the sandbox: ${why}`, hint);
    if (bind.writable === true) say('.writable', 'a writable bind lets the file write to the host; a docblock may add read-only binds only');
    if (bind.propagation === 'slave') say('.propagation', '"slave" brings the host\'s later mounts in, with the host\'s flags');
    if (bind.allowPrivileged === true) say('.allowPrivileged', 'it would open a privileged host tree');
    // A missing optional source is skipped at launch: there is nothing to show.
    const real = realpathOrUndefined(fs.realpathSync, bind.source);
    if (real === undefined) return;
    const shown = real === bind.source ? bind.source : `${bind.source} (really ${real})`;
    if (!isUnder(real, projectReal)) {
      say('.source', `the source ${shown} lies outside the project ${projectReal}; a docblock may only bind what is inside it`);
      return;
    }
    const over = covered.find(([p]) => isUnder(real, p) || isUnder(p, real));
    if (over !== undefined) say('.source', `the source ${shown} would show ${over[0]}, which ${over[1]} covers`);
  });
}
