// Raw options (a Jest config, a docblock, a JSON file) → CheckedOptions, by
// the rules table; layers of options → one merged request, with the
// conflict checks run on the merged result, whoever merges.
import { Issues, show } from './issues';
import { checkKeys, isPlainObject, OPTION_NAMES, RULES, type RuleContext } from './rules';
import type { CheckedOptions, OptionOrigins } from './types';

/** Checks `raw` into `issues`; returns what was valid. `at` prefixes every message (e.g. `testEnvironmentOptions.sandbox`). */
export function collectOptions(raw: unknown, at: string, rootDir: string, issues: Issues): CheckedOptions {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) {
    issues.add(at, `expected an object of sandbox options, got ${show(raw)}`);
    return {};
  }
  checkKeys(raw, OPTION_NAMES, at, issues);
  const ctx: RuleContext = { rootDir, issues };
  const out: Record<string, unknown> = {};
  for (const name of OPTION_NAMES) {
    if (raw[name] === undefined) continue;
    const rule = RULES[name] as (value: unknown, field: string, context: RuleContext) => unknown;
    const value = issues.attempt(() => rule(raw[name], `${at}.${name}`, ctx));
    if (value !== undefined) out[name] = value;
  }
  return out as CheckedOptions;
}

/** One source of options, checked on its own: every problem in one error. */
export function checkOptions(raw: unknown, at: string, rootDir: string): CheckedOptions {
  const issues = new Issues();
  const options = collectOptions(raw, at, rootDir, issues);
  checkConflicts(options, originsOf(options, at), issues);
  issues.throwIfAny();
  return options;
}

export function originsOf(options: CheckedOptions, at: string): OptionOrigins {
  const scalars: OptionOrigins['scalars'] = {};
  for (const name of OPTION_NAMES) if (options[name] !== undefined) scalars[name] = `${at}.${name}`;
  return {
    binds: (options.binds ?? []).map((_, i) => `${at}.binds[${i}]`),
    tmpfs: (options.tmpfs ?? []).map((_, i) => `${at}.tmpfs[${i}]`),
    hide: (options.hide ?? []).map((_, i) => `${at}.hide[${i}]`),
    fixtures: Object.fromEntries(Object.keys(options.fixtures ?? {}).map((target) => [target, `${at}.fixtures[${JSON.stringify(target)}]`])),
    scalars,
  };
}

export interface Merged {
  options: CheckedOptions;
  origins: OptionOrigins;
}

/**
 * `over` on top of `base`. Lists (binds, tmpfs, hide) and fixtures add to
 * the base's and never replace them: dropping a base entry could uncover
 * what it covered (a read-only bind over a writable tree, a tmpfs over a
 * secret). env is merged name by name; every other option replaces the base's.
 */
export function layer(base: Merged, over: Merged): Merged {
  const a = base.options;
  const b = over.options;
  const options: CheckedOptions = { ...a, ...b };
  const concat = <T>(x: T[] | undefined, y: T[] | undefined): T[] | undefined => (x === undefined && y === undefined ? undefined : [...(x ?? []), ...(y ?? [])]);
  const binds = concat(a.binds, b.binds);
  const tmpfs = concat(a.tmpfs, b.tmpfs);
  const hide = concat(a.hide, b.hide);
  if (binds) options.binds = binds;
  if (tmpfs) options.tmpfs = tmpfs;
  if (hide) options.hide = hide;
  if (a.env && b.env) options.env = { ...a.env, ...b.env };
  const fixtures = { ...a.fixtures, ...b.fixtures };
  if (a.fixtures || b.fixtures) options.fixtures = fixtures;
  const fixtureOrigins = { ...base.origins.fixtures };
  for (const [target, origin] of Object.entries(over.origins.fixtures)) {
    // Two fixtures at one target: keep both names, so that the conflict check can report them.
    fixtureOrigins[target] = fixtureOrigins[target] === undefined ? origin : `${fixtureOrigins[target]}\0${origin}`;
  }
  return {
    options,
    origins: {
      binds: [...base.origins.binds, ...over.origins.binds],
      tmpfs: [...base.origins.tmpfs, ...over.origins.tmpfs],
      hide: [...base.origins.hide, ...over.origins.hide],
      fixtures: fixtureOrigins,
      scalars: { ...base.origins.scalars, ...over.origins.scalars },
    },
  };
}

/** Two options claiming the same sandbox path would silently hide one another: each path is mounted once. */
export function checkConflicts(options: CheckedOptions, origins: OptionOrigins, issues: Issues): void {
  const claimed = new Map<string, string>();
  const claim = (target: string, field: string): void => {
    const earlier = claimed.get(target);
    if (earlier !== undefined) issues.add(field, `target ${target} is already used by ${earlier}; each path can be mounted once`);
    else claimed.set(target, field);
  };
  options.binds?.forEach((bind, i) => claim(bind.target, `${origins.binds[i] ?? `binds[${i}]`}.target`));
  options.tmpfs?.forEach((entry, i) => claim(entry.target, `${origins.tmpfs[i] ?? `tmpfs[${i}]`}.target`));
  for (const target of Object.keys(options.fixtures ?? {})) {
    for (const origin of (origins.fixtures[target] ?? `fixtures[${JSON.stringify(target)}]`).split('\0')) claim(target, origin);
  }
}

/** Merges checked layers and runs the conflict checks on the result; every problem in one error. */
export function mergeChecked(layers: Merged[], issues = new Issues()): Merged {
  const merged = layers.reduce(layer, { options: {}, origins: originsOf({}, 'sandbox') });
  checkConflicts(merged.options, merged.origins, issues);
  issues.throwIfAny();
  return merged;
}
