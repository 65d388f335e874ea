// The options of `mount-sandbox run`: `--config FILE`, then `--config-json`,
// then the flags that set options (`--project-mode`, `--hide`), each checked
// by the same rules as a Jest config and merged the same way; the conflict
// checks then run on the merged result, as for a Jest file. The mount flags
// (`--bind`, `--tmpfs`, …) stay ordered mount operations, applied after all
// options as in bubblewrap, and are checked by the engine.
import fs from 'node:fs';
import { configError } from '../shared/errors';
import { checkConflicts, collectOptions, layer, originsOf, type Merged } from './compile';
import { Issues } from './issues';
import { checkHide, type RuleContext } from './rules';
import type { CheckedOptions, ProjectMode } from './types';

export interface CliOptionSources {
  configFile?: string;
  configJson?: string;
  projectMode?: ProjectMode;
  hide: readonly string[];
}

function readJson(field: string, read: () => string, issues: Issues): unknown {
  return issues.attempt(() => {
    let text: string;
    try {
      text = read();
    } catch (error) {
      throw configError(field, `cannot read the file: ${(error as Error).message}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw configError(field, `invalid JSON: ${(error as Error).message}`);
    }
  });
}

export function cliOptionsOf(sources: CliOptionSources, projectDir: string): Merged {
  const issues = new Issues();
  const layers: Merged[] = [];
  const add = (field: string, raw: unknown): void => {
    const options = collectOptions(raw, field, projectDir, issues);
    layers.push({ options, origins: originsOf(options, field) });
  };
  const { configFile, configJson } = sources;
  if (configFile !== undefined) add(`--config ${configFile}`, readJson(`--config ${configFile}`, () => fs.readFileSync(configFile, 'utf8'), issues));
  if (configJson !== undefined) add('--config-json', readJson('--config-json', () => configJson, issues));
  const ctx: RuleContext = { rootDir: projectDir, issues };
  const flags: CheckedOptions = {};
  const flagOrigins = originsOf({}, 'flags');
  if (sources.projectMode !== undefined) {
    flags.project = sources.projectMode;
    flagOrigins.scalars.project = '--project-mode';
  }
  for (const p of sources.hide) {
    const hidden = issues.attempt(() => checkHide(p, `--hide ${p}`, ctx));
    if (hidden === undefined) continue;
    (flags.hide ??= []).push(hidden);
    flagOrigins.hide.push(`--hide ${p}`);
  }
  layers.push({ options: flags, origins: flagOrigins });
  const merged = layers.reduce(layer);
  checkConflicts(merged.options, merged.origins, issues);
  issues.throwIfAny();
  return merged;
}
