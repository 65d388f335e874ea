// Options that sit next to `sandbox` instead of under it, and near-misses of
// `sandbox` itself: Jest passes them on to the environment without a word,
// so the sandbox would silently run without them (`{ network: 'none' }` with
// the network on). Used for the Jest config (a warning) and for a docblock
// (an error: a file that meant to narrow its sandbox must not run wider).
import { nearest } from './issues';
import { OPTION_NAMES } from './rules';

/** `at` names the object (`testEnvironmentOptions`), `into` where its sandbox options belong. */
export function misplacedOptions(environmentOptions: Record<string, unknown>, at: string, into: string): string[] {
  const found: string[] = [];
  for (const key of Object.keys(environmentOptions)) {
    if (key === 'sandbox') continue;
    if ((OPTION_NAMES as readonly string[]).includes(key)) {
      found.push(`${at}.${key} is a sandbox option outside "sandbox", so it is ignored; move it to ${into}.${key}`);
    } else if (nearest(key, ['sandbox']) !== undefined) {
      found.push(`${at}.${key} is ignored; did you mean "sandbox"?`);
    }
  }
  return found;
}
