#!/usr/bin/env node
// `mount-sandbox run`: the sandbox engine from the shell, so that anything a
// test sees can be reproduced and debugged without Jest.
import fs from 'node:fs';
import path from 'node:path';
import type tty from 'node:tty';
import { formatError, isSandboxError } from '../shared/errors';
import { cliOptionsOf } from '../options/cli';
import { detectHostSupport } from '../host/host-support';
import { SandboxProcess } from '../host/launcher';
import { planSandbox } from '../host/plan';
import { SETUP_FAILED_EXIT } from '../shared/sandbox-protocol';
import { formatSize } from '../shared/size';
import { describeOp, type SandboxSpec } from '../shared/spec';
import { findTools } from '../host/tools';
import { doctor } from './doctor';
import { HELP } from './help';
import { parseCli, type RunArgs } from './args';
import { openTerminalRelay, wantsTerminal } from './terminal';

const USAGE_EXIT = 2;

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function printPlan(spec: SandboxSpec, mode: string): void {
  const lines = [
    `mount-sandbox: mode ${mode}, uid ${spec.uid}, network ${spec.network}${spec.hostname ? `, hostname ${spec.hostname}` : ''}, root tmpfs ${formatSize(spec.rootSize)}, cwd ${spec.cwd}`,
    ...spec.mounts.map((op, i) => `  ${String(i + 1).padStart(2)}. ${describeOp(op)}  [${op.role}${op.origin ? `: ${op.origin}` : ''}]`),
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}

async function run(args: RunArgs): Promise<number> {
  const tools = findTools();
  const projectDir = args.project ?? process.cwd();
  const { options, origins } = cliOptionsOf({
    ...(args.configFile !== undefined ? { configFile: args.configFile } : {}),
    ...(args.configJson !== undefined ? { configJson: args.configJson } : {}),
    ...(args.projectMode !== undefined ? { projectMode: args.projectMode } : {}),
    hide: args.hide,
  }, projectDir);
  const spec = planSandbox({
    projectDir,
    options,
    optionsOrigin: args.configFile !== undefined ? `--config ${args.configFile}` : '--config-json',
    optionOrigins: origins,
    mounts: args.mounts,
    setenv: args.setenv,
    unsetenv: args.unsetenv,
    ...(args.unshareNet ? { network: 'none' as const } : {}),
    ...(args.uid !== 'same' ? { uid: args.uid } : {}),
    ...(args.cwd !== undefined ? { cwd: args.cwd } : {}),
    ...(args.rootSize !== undefined ? { rootSize: args.rootSize } : {}),
    ...(args.hostname !== undefined ? { hostname: args.hostname } : {}),
  }, tools);
  const support = detectHostSupport(tools);
  if (support.note) process.stderr.write(`mount-sandbox: ${support.note}\n`);
  if (args.verbose) printPlan(spec, support.mode);

  // A debug shell at a terminal gets one of its own (see terminal.ts); koffi loads only then.
  const terminal = wantsTerminal()
    ? openTerminalRelay(require('../native/syscalls') as typeof import('../native/syscalls'), process.stdin as tty.ReadStream, process.stdout as tty.WriteStream)
    : undefined;
  const sandbox = new SandboxProcess({ spec, command: args.command, mode: support.mode, tools, ...(terminal ? { stdio: { tty: terminal.slave } } : {}) });
  terminal?.spawned(() => fs.closeSync(terminal.slave));
  if (args.verbose) {
    const { kind, max } = sandbox.processLimit;
    const { chain } = sandbox;
    process.stderr.write(`mount-sandbox: ${chain.chain === 'one-node' ? 'one Node process: it builds its own sandbox, then a seccomp filter locks it' : `init chain: a Node init builds the sandbox, a nested user namespace locks it (${chain.why})`}\n`);
    process.stderr.write(`mount-sandbox: process limit ${max} (${kind === 'none' ? 'not enforced: root, and no pids cgroup could be made' : kind === 'rlimit' ? 'RLIMIT_NPROC' : 'a pids cgroup'})\n`);
  }
  const interrupt = (signal: NodeJS.Signals): void => {
    sandbox.kill();
    process.exitCode = 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, interrupt);

  let setupFailed = false;
  const ready = sandbox.ready.then(
    (report) => report,
    (error: unknown) => {
      setupFailed = true;
      process.stderr.write(`${formatError(error)}\n`);
      return undefined;
    },
  );
  const status = await sandbox.exited;
  await terminal?.finish();
  const report = await ready;
  if (args.verbose && report) {
    const { timings, launchedAt } = report;
    process.stderr.write(`mount-sandbox: setup steps (ms): ${report.steps.map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join('; ')}\n`);
    const end = performance.timeOrigin + performance.now();
    process.stderr.write(
      `mount-sandbox: timings: launch→init ${(timings.initStartedAt - launchedAt).toFixed(1)} ms, ` +
      `mounts ${timings.mountMs.toFixed(1)} ms, init→exec ${(timings.execAt - timings.initStartedAt).toFixed(1)} ms, ` +
      `command ${(end - timings.execAt).toFixed(1)} ms, total ${(end - launchedAt).toFixed(1)} ms; exit ${status.code}\n`,
    );
  }
  if (process.exitCode !== undefined && process.exitCode !== 0) return Number(process.exitCode);
  return setupFailed ? SETUP_FAILED_EXIT : status.code;
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    const parsed = parseCli(argv, process.cwd());
    if (parsed.kind === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    if (parsed.kind === 'doctor') return await doctor({ fix: parsed.fix });
    if (parsed.kind === 'version') {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    return await run(parsed.args);
  } catch (error) {
    process.stderr.write(`${formatError(error)}\n`);
    if (isSandboxError(error) && error.kind === 'config') return USAGE_EXIT;
    return SETUP_FAILED_EXIT;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
