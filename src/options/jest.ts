// The options of a Jest test file: its project's (checked once per Jest
// project, by config.id, with any misplaced option warned about once), and
// its docblock's (parsed and checked once per file, then held to the
// docblock rule and merged over the project's).
import type { Config } from '@jest/types';
import path from 'node:path';
import { checkConflicts, collectOptions, layer, originsOf, type Merged } from './compile';
import { checkNarrows, docblockSandbox, DOCBLOCK_AT, PROJECT_AT } from './docblock';
import { Issues } from './issues';
import { misplacedOptions } from './misplaced';
import type { CheckedOptions } from './types';

type ProjectEntry = { ok: true; merged: Merged } | { ok: false; error: unknown };
const projects = new Map<string, ProjectEntry>();

function compileProject(config: Config.ProjectConfig, warn: (text: string) => void): Merged {
  const environmentOptions = (config.testEnvironmentOptions ?? {}) as Record<string, unknown>;
  const misplaced = misplacedOptions(environmentOptions, 'testEnvironmentOptions', PROJECT_AT);
  if (misplaced.length > 0) {
    const where = config.displayName?.name ?? config.rootDir;
    warn(`mount-sandbox: warning for the Jest project ${where}:\n${misplaced.map((line) => `  - ${line}`).join('\n')}\n`);
  }
  const issues = new Issues();
  const options = collectOptions(environmentOptions.sandbox, PROJECT_AT, config.rootDir, issues);
  const merged = { options, origins: originsOf(options, PROJECT_AT) };
  checkConflicts(merged.options, merged.origins, issues);
  issues.throwIfAny();
  return merged;
}

/** The project's checked options; the same answer (or the same error) for every file of the project. */
export function projectOptionsOf(config: Config.ProjectConfig, warn: (text: string) => void = (text) => process.stderr.write(text)): Merged {
  let entry = projects.get(config.id);
  if (entry === undefined) {
    try {
      entry = { ok: true, merged: compileProject(config, warn) };
    } catch (error) {
      entry = { ok: false, error };
    }
    projects.set(config.id, entry);
  }
  if (!entry.ok) throw entry.error;
  return entry.merged;
}

/** A file's options, and what its docblock set itself, before the merge (undefined when it sets none). */
export interface FileOptions extends Merged {
  own?: CheckedOptions;
}

/** The file's options: the project's, with its docblock's checked, held to the docblock rule and merged over them. */
export function fileOptionsOf(config: Config.ProjectConfig, pragmas: Record<string, string | string[]>, testPath: string): FileOptions {
  const project = projectOptionsOf(config);
  const raw = docblockSandbox(pragmas, path.basename(testPath));
  if (raw === undefined) return project;
  const issues = new Issues();
  const file = collectOptions(raw, DOCBLOCK_AT, config.rootDir, issues);
  checkNarrows(project, file, config.rootDir, issues);
  const merged = layer(project, { options: file, origins: originsOf(file, DOCBLOCK_AT) });
  checkConflicts(merged.options, merged.origins, issues);
  issues.throwIfAny();
  return { ...merged, own: file };
}
