// Diagnostics on stderr when MOUNT_SANDBOX_DEBUG is set (any value but 0):
// per-file timings, the mount plan, and the equivalent CLI line.
export function debugEnabled(): boolean {
  const value = process.env.MOUNT_SANDBOX_DEBUG;
  return value !== undefined && value !== '' && value !== '0';
}

export function debug(line: string): void {
  if (debugEnabled()) process.stderr.write(`mount-sandbox: ${line}\n`);
}

/** This process's CPU time so far (user + system, all threads), ms: the per-file debug line splits it by phase. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
