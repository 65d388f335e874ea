// What doctor says, as data and as text. Pure, so that the findings for
// hosts this machine is not (Ubuntu 24.04's AppArmor restriction, a Docker
// container) and the exact text printed for them are unit-tested.
import { appArmorAdvice, appArmorState, PROFILE_NAME, RESTRICT_USERNS_SYSCTL } from '../host/apparmor';
import type { HostFiles } from '../host/host-files';
import { explainUserNamespaceRefusal } from '../host/host-support';

export type Verdict = 'ok' | 'warn' | 'fail';

export interface Finding {
  verdict: Verdict;
  what: string;
  fix?: string;
  /** Lines to paste as they are (a profile, commands): printed unindented, between blank lines. */
  details?: string[];
}

const MARK: Record<Verdict, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

export function formatFindings(findings: Finding[]): string {
  let text = '';
  for (const finding of findings) {
    text += `${MARK[finding.verdict]}  ${finding.what}\n`;
    if (finding.fix) text += `      fix: ${finding.fix}\n`;
    if (finding.details) text += `\n${finding.details.join('\n')}\n\n`;
  }
  const failed = findings.some((f) => f.verdict === 'fail');
  text += `${text.endsWith('\n\n') ? '' : '\n'}mount-sandbox ${failed ? 'cannot' : 'can'} sandbox tests on this host.\n`;
  return text;
}

export interface UserNamespaceProbe {
  uid: number;
  /** The outer unshare of the launch chain, run with its real flags. */
  probe: { ok: boolean; stderr: string };
  files: HostFiles;
  /** The real path of that unshare: AppArmor attaches profiles by it. */
  unshare: string;
  apparmorDir?: string;
}

/** The findings about user namespaces: whether they work, and what to change when they do not. */
export function userNamespaceFindings({ uid, probe, files, unshare, apparmorDir }: UserNamespaceProbe): Finding[] {
  const apparmor = appArmorState(files);
  const restricted = apparmor.enabled && apparmor.restrictsUserns;
  const restriction = `AppArmor restricts unprivileged user namespaces (${RESTRICT_USERNS_SYSCTL}=1)`;
  if (!probe.ok) {
    const stderr = probe.stderr.trim();
    return [{
      verdict: uid === 0 ? 'warn' : 'fail',
      what: `user namespaces are refused: ${stderr}`,
      ...(restricted
        ? { fix: `${restriction}, and no profile allows them to ${unshare}`, details: appArmorAdvice(unshare, apparmorDir) }
        : { fix: explainUserNamespaceRefusal(stderr, files) }),
    }];
  }
  const findings: Finding[] = [{ verdict: 'ok', what: 'user namespaces work for this user' }];
  if (!restricted) return findings;
  if (uid !== 0) {
    findings.push({ verdict: 'ok', what: `${restriction}, and a profile allows them to ${unshare}` });
  } else if (apparmor.profileLoaded === true) {
    findings.push({ verdict: 'ok', what: `${restriction}; the profile ${PROFILE_NAME} allows them to ${unshare}, so other users can sandbox too` });
  } else {
    findings.push({
      verdict: 'warn',
      what: `${restriction}: root is exempt, but other users' runs are refused unless ${unshare} has a profile that allows them`,
      fix: '`mount-sandbox doctor --fix` installs the profile below',
      details: appArmorAdvice(unshare, apparmorDir),
    });
  }
  return findings;
}
