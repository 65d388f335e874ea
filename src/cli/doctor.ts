// `mount-sandbox doctor`: what this host allows, in plain words, and what to
// change when it does not. Every check runs the real thing (a namespace, a
// proc mount, an overlay) rather than guessing from sysctls.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatError } from '../shared/errors';
import { containerState } from '../host/container';
import { realHostFiles } from '../host/host-files';
import { detectHostSupport, outerUnshareFlags } from '../host/host-support';
import { SandboxProcess } from '../host/launcher';
import { ONE_NODE_SWITCH } from '../host/one-node-chain';
import type { Tools } from '../shared/sandbox-protocol';
import type { IsolationMode, SandboxSpec } from '../shared/spec';
import { planSandbox } from '../host/plan';
import { missingFlags, OLDEST_TESTED_UTIL_LINUX } from '../host/tool-flags';
import { findTools } from '../host/tools';
import { applyFix, realUnshare } from './doctor-fix';
import { formatFindings, userNamespaceFindings, type Finding } from './doctor-report';

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = os.release().split('.').map((n) => Number.parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

function utilLinuxVersion(unshare: string): string | undefined {
  const out = spawnSync(unshare, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /(\d+\.\d+(?:\.\d+)?)/.exec(out)?.[1];
}

function helpOf(tool: string): string {
  const result = spawnSync(tool, ['--help'], { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}

async function trySandbox(findings: Finding[]): Promise<void> {
  const tools = findTools();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mount-sandbox-doctor-'));
  try {
    fs.chmodSync(scratch, 0o755);
    const spec = planSandbox({ projectDir: scratch, options: { fixtures: { '/doctor-overlay': scratch } } }, tools);
    const support = detectHostSupport(tools);
    const sandbox = new SandboxProcess({ spec, command: ['true'], mode: support.mode, tools, stdio: 'pipe' });
    const [report, status] = await Promise.all([sandbox.ready.then((r) => r, (error: unknown) => (error instanceof Error ? error : new Error(String(error)))), sandbox.exited]);
    if (report instanceof Error || status.code !== 0) {
      const reason = report instanceof Error ? formatError(report) : `exit ${status.code}`;
      findings.push({
        verdict: 'fail',
        what: `a full sandbox could not be built: ${reason}`,
        ...(/proc/.test(reason) ? { fix: maskedProcFix() } : {}),
      });
      return;
    }
    findings.push({ verdict: 'ok', what: `a full sandbox (tmpfs root, binds, /dev, a private /proc) builds in ${report.timings.mountMs.toFixed(1)} ms` });
    const overlay = report.overlays['/doctor-overlay'];
    findings.push(overlay === 'overlay'
      ? { verdict: 'ok', what: 'overlayfs works in the sandbox: the project defaults to a discarded overlay, fixtures are overlays' }
      : { verdict: 'warn', what: 'overlayfs is refused in a user namespace: the project will be read-only, fixtures are copied', fix: kernelAtLeast(5, 11) ? 'check that the kernel has overlayfs (modprobe overlay)' : 'Linux >= 5.11 allows overlayfs in user namespaces' });
    await tryOneNode(findings, spec, support.mode, tools);
    const { kind, max } = sandbox.processLimit;
    findings.push(kind === 'none'
      ? { verdict: 'warn', what: `no process limit for root: RLIMIT_NPROC does not apply to uid 0 and no pids cgroup could be created`, fix: 'mount the pids cgroup controller (v1) or delegate it (v2: echo +pids > cgroup.subtree_control)' }
      : { verdict: 'ok', what: `process limit ${max} per sandbox, by ${kind === 'rlimit' ? 'RLIMIT_NPROC' : 'a pids cgroup'}` });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The one-Node chain, as a Jest file gets it: node builds its own root, then installs the seccomp filter. */
async function tryOneNode(findings: Finding[], spec: SandboxSpec, mode: IsolationMode, tools: Tools): Promise<void> {
  const sandbox = new SandboxProcess({ spec, command: [process.execPath, '-e', '0'], mode, tools, stdio: 'pipe' });
  if (sandbox.chain.chain !== 'one-node') {
    findings.push({ verdict: 'ok', what: `test files run in the init chain (${sandbox.chain.why}): two Node processes each, the mounts locked by a nested user namespace` });
    sandbox.kill();
    return;
  }
  const [report, status] = await Promise.all([sandbox.ready.then((r) => r, (error: unknown) => (error instanceof Error ? error : new Error(String(error)))), sandbox.exited]);
  if (report instanceof Error || status.code !== 0) {
    findings.push({
      verdict: 'fail',
      what: `a Node command cannot build and lock its own sandbox (the one-Node chain every test file uses): ${report instanceof Error ? formatError(report) : `exit ${status.code}`}`,
      fix: `${ONE_NODE_SWITCH}=0 runs every file in the init chain instead (two Node processes per file, the mount lock the kernel's)`,
    });
    return;
  }
  findings.push({ verdict: 'ok', what: 'a Node command builds its own sandbox and locks it with a seccomp filter: one Node process per test file' });
}

/** A procfs mount refused in a container: its /proc is masked. */
function maskedProcFix(): string {
  const container = containerState(realHostFiles).container;
  const where = container ? `this is ${container.kind === 'container' ? 'a container' : `a ${container.kind === 'docker' ? 'Docker' : 'Podman'} container`} (${container.evidence}), and its /proc is masked` : 'the outer /proc is masked (a container)';
  return `${where}: podman --security-opt unmask=ALL, or docker --security-opt systempaths=unconfined`;
}

export interface DoctorOptions {
  /** Apply the fixes doctor knows how to make (as root): the AppArmor profile for unshare. */
  fix?: boolean;
}

export async function doctor(options: DoctorOptions = {}): Promise<number> {
  const findings: Finding[] = [];
  const uid = process.getuid?.() ?? -1;
  if (options.fix) {
    const fixed = applyFix(uid);
    if (fixed !== 0) return fixed;
  }
  findings.push({ verdict: 'ok', what: `running as ${uid === 0 ? 'root' : `uid ${uid}`}; kernel ${os.release()} (${process.arch}); node ${process.version}` });

  let tools;
  try {
    tools = findTools();
  } catch (error) {
    findings.push({ verdict: 'fail', what: formatError(error) });
    return print(findings);
  }
  const version = utilLinuxVersion(tools.unshare) ?? 'of unknown version';
  const missing = (['unshare', 'setpriv'] as const).flatMap((tool) => missingFlags(tool, helpOf(tools[tool])).map((flag) => `${tool} ${flag}`));
  findings.push(missing.length === 0
    ? { verdict: 'ok', what: `util-linux ${version} (${tools.unshare}, ${tools.setpriv}) has every flag the sandbox uses` }
    : {
      verdict: 'fail',
      what: `util-linux ${version} lacks flags the sandbox's launch chain passes: ${missing.join(', ')}`,
      fix: `install a newer util-linux (${OLDEST_TESTED_UTIL_LINUX}, Debian 11's, is the oldest tested; Ubuntu 22.04's 2.37 and Debian 12's 2.38 have them), or put one first on PATH`,
    });

  const probe = spawnSync(tools.unshare, [...outerUnshareFlags('userns', 'same', { network: false, uts: false }), '--', tools.sh, '-c', 'exit 0'], { encoding: 'utf8' });
  findings.push(...userNamespaceFindings({
    uid,
    probe: { ok: probe.status === 0, stderr: probe.stderr ?? probe.error?.message ?? '' },
    files: realHostFiles,
    unshare: realUnshare(tools.unshare),
  }));

  try {
    const support = detectHostSupport(tools);
    findings.push({ verdict: 'ok', what: `the runner will use mode "${support.mode}"${support.mode === 'userns' ? ' (a user namespace; see the next lines for which chain locks the mounts)' : ' (real root, every capability dropped)'}` });
    await trySandbox(findings);
  } catch (error) {
    findings.push({ verdict: 'fail', what: `no sandbox mode works: ${formatError(error)}` });
  }
  return print(findings);
}

function print(findings: Finding[]): number {
  process.stdout.write(formatFindings(findings));
  return findings.some((f) => f.verdict === 'fail') ? 1 : 0;
}
