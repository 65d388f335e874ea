// The leak check after every run of the suite: no new mounts, no surviving
// sandbox processes, no stray entries in the host's /tmp.
import fs from 'node:fs';
import path from 'node:path';
import { captureHostState, isThisRuns, sandboxProcesses, TOOLS_TMP_ENTRY, type HostState } from './host-state';
import { REPO, STAGE_VAR } from './stage';
import { sleep } from './wait';

export default async function globalTeardown(): Promise<void> {
  const root = process.env[STAGE_VAR];
  if (!root) return;
  const before = JSON.parse(fs.readFileSync(path.join(root, 'host-state-before.json'), 'utf8')) as HostState;
  fs.rmSync(root, { recursive: true, force: true });
  const run = { repo: REPO, stage: root, tmpBefore: before.tmpEntries };
  const ours = (): string[] => sandboxProcesses().filter((line) => isThisRuns(line, run));
  let survivors = ours();
  for (let i = 0; i < 20 && survivors.length > 0; i++) {
    await sleep(100);
    survivors = ours();
  }
  const after = captureHostState();
  const problems: string[] = [];
  const newMounts = after.mounts.filter((m) => !before.mounts.includes(m));
  if (newMounts.length > 0) problems.push(`new mounts on the host: ${newMounts.join(', ')}`);
  if (survivors.length > 0) problems.push(`sandbox processes survived: ${survivors.join(' | ')}`);
  const newTmp = after.tmpEntries.filter((e) => !before.tmpEntries.includes(e) && !TOOLS_TMP_ENTRY.test(e));
  if (newTmp.length > 0) problems.push(`new entries in /tmp: ${newTmp.join(', ')}`);
  if (problems.length > 0) throw new Error(`leak check failed:\n  ${problems.join('\n  ')}`);
}
