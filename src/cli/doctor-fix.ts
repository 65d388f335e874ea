// `mount-sandbox doctor --fix`: the one host change doctor knows how to make,
// the AppArmor profile that lets the sandbox's unshare create user namespaces
// under Ubuntu's restriction. Decided by planAppArmorFix before anything is
// written; refuses, with the reason, whatever it cannot do safely.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { formatError } from '../shared/errors';
import { planAppArmorFix, type AppArmorFix, type FixContext } from '../host/apparmor';
import { realHostFiles } from '../host/host-files';
import { findTools } from '../host/tools';

/** AppArmor attaches profiles by the executable's resolved path (/bin/unshare on merged-/usr is /usr/bin/unshare). */
export function realUnshare(unshare: string): string {
  try {
    return fs.realpathSync(unshare);
  } catch {
    return unshare;
  }
}

export type Install = Extract<AppArmorFix, { kind: 'install' }>;

/** Writes the profile and loads it; a profile the parser rejects is taken back, so the next boot does not trip on it. */
export function installProfile(plan: Install): { ok: true } | { ok: false; reason: string } {
  let before: string | undefined;
  try {
    before = fs.readFileSync(plan.file, 'utf8');
  } catch {
    before = undefined;
  }
  try {
    fs.writeFileSync(plan.file, plan.profile, { mode: 0o644 });
    fs.chmodSync(plan.file, 0o644);
  } catch (error) {
    return { ok: false, reason: `cannot write ${plan.file}: ${(error as Error).message}` };
  }
  const [parser, ...args] = plan.load;
  const loaded = spawnSync(parser, args, { encoding: 'utf8', timeout: 60_000 });
  if (loaded.status === 0) return { ok: true };
  if (before === undefined) fs.rmSync(plan.file, { force: true });
  else fs.writeFileSync(plan.file, before);
  const why = loaded.error ? loaded.error.message : `exit ${loaded.status ?? loaded.signal}: ${(loaded.stderr ?? '').trim()}`;
  return { ok: false, reason: `${plan.load.join(' ')} failed (${why}); ${before === undefined ? `${plan.file} was removed again` : `${plan.file} was restored`}` };
}

/** Runs the fix and says what it did; non-zero when it refused or failed. */
export function applyFix(uid: number, context: Partial<FixContext> = {}): number {
  let plan: AppArmorFix;
  try {
    plan = planAppArmorFix({ uid, files: realHostFiles, unshare: realUnshare(findTools().unshare), ...context });
  } catch (error) {
    process.stderr.write(`mount-sandbox doctor --fix: ${formatError(error)}\n`);
    return 1;
  }
  if (plan.kind === 'refuse') {
    process.stderr.write(`mount-sandbox doctor --fix: ${plan.reason}\n`);
    return 1;
  }
  if (plan.kind === 'nothing') {
    process.stdout.write(`fix   nothing to install: ${plan.reason}\n\n`);
    return 0;
  }
  const result = installProfile(plan);
  if (!result.ok) {
    process.stderr.write(`mount-sandbox doctor --fix: ${result.reason}\n`);
    return 1;
  }
  process.stdout.write(`fix   wrote ${plan.file} and loaded it (${plan.load.join(' ')}): every user's sandboxes may now create user namespaces\n\n`);
  return 0;
}
