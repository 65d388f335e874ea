// Which util-linux flags the launch chain passes, and which of them a given
// binary lacks. Doctor decides by the flags a binary offers, not by its
// version number: distributions backport, and the version that first had
// a flag is easy to get wrong (an earlier check refused 2.36 and 2.37,
// which have every flag we use).

/** Every flag of unshare and setpriv that the launcher or the init passes (launch-argv.test.ts keeps this honest). */
export const REQUIRED_FLAGS = {
  unshare: ['--user', '--map-current-user', '--map-root-user', '--keep-caps', '--mount', '--pid', '--net', '--uts', '--ipc', '--propagation', '--fork', '--kill-child', '--mount-proc'],
  setpriv: ['--pdeathsig', '--bounding-set', '--inh-caps', '--ambient-caps'],
} as const;

export type ToolName = keyof typeof REQUIRED_FLAGS;

/** The oldest util-linux this project has run its whole chain with. */
export const OLDEST_TESTED_UTIL_LINUX = '2.36.1';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The required flags that `<tool> --help` does not list as an option (a mention in prose does not count). */
export function missingFlags(tool: ToolName, helpText: string): string[] {
  return REQUIRED_FLAGS[tool].filter((flag) => !new RegExp(`^\\s*(-\\w,\\s*)?${escape(flag)}(?=[\\s=[]|$)`, 'm').test(helpText));
}
