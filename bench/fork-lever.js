#!/usr/bin/env node
// What the next speed lever of issue 11 would buy: a warm "zygote" that loads
// Jest once and forks a process per test file, against a fresh Node process
// per file (what the sandbox does today). No namespaces and no sandbox here:
// only the cost of getting a process that has run one tiny file through
// Jest's own TestRunner, measured as that process's own CPU time.
//
// Forking a Node process takes three things, each measured to be necessary:
// - V8 marks its heap pages MADV_DONTFORK, so a forked child faults on its
//   first heap access. A seccomp filter (installed by a preload, all threads)
//   turns madvise(MADV_DONTFORK) into a no-op, and a sweep of /proc/self/smaps
//   undoes the marks made before the preload ran.
// - The child shares libuv's epoll instance with its parent until it calls
//   uv_loop_fork() on the default loop (the node binary exports it); libuv's
//   threadpool recreates itself through its own atfork handler.
// - The child has none of the V8 platform's worker threads: without
//   --single-threaded, V8 posts work to them and the child hangs.
// Known gaps of this prototype, which a real implementation must close: the
// child's process.pid is the zygote's (Node caches it), every child draws the
// same Math.random() sequence (V8's per-isolate seed is copied), and Node's
// normal exit joins the missing platform threads, so a child must _exit().
//
// Usage: node bench/fork-lever.js [rounds]   (x86_64 or arm64 Linux; needs `npm run build` first)
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const REPO = path.resolve(__dirname, '..');
const rounds = Number(process.argv[2] ?? 8);
const cpuMs = () => { const { user, system } = process.cpuUsage(); return (user + system) / 1000; };
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * A project of tiny files, like bench/jest.js's suite a, with no transformer: in the sandbox a
 * transform-cache hit loads none either, and a file new to the cache must not make one side pay for Babel.
 */
function project() {
  const dir = path.join(REPO, 'bench', 'results', 'projects', 'fork-lever');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, '__tests__'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"bench-fork-lever","private":true}\n');
  // Jest's CLI creates its cache folder; TestRunner alone does not.
  const cache = path.join(os.tmpdir(), 'mount-sandbox-bench-fork-cache');
  fs.mkdirSync(cache, { recursive: true });
  fs.writeFileSync(path.join(dir, 'jest.config.js'), `module.exports = { testEnvironment: 'node', cacheDirectory: ${JSON.stringify(cache)}, transform: {} };\n`);
  for (let i = 0; i <= 2 * rounds + 1; i++) {
    fs.writeFileSync(path.join(dir, '__tests__', `fs-${i}.test.js`), `const fs = require('fs');
test('a little async fs ${i}', async () => {
  const file = require('path').join(require('os').tmpdir(), 'mount-sandbox-bench-fork-' + process.pid + '-${i}');
  await fs.promises.writeFile(file, 'x'.repeat(100));
  expect(await fs.promises.readFile(file, 'utf8')).toHaveLength(100);
  await fs.promises.rm(file);
});\n`);
  }
  return dir;
}

/**
 * Jest loaded as a file's process needs it: config, haste map, resolver, TestRunner. The config and the
 * haste map are made by Jest's own process in the sandbox, not per file: their CPU is returned, to leave out.
 */
async function loadJest(dir) {
  const from = (name) => require.resolve(name, { paths: [REPO] });
  const configStart = cpuMs();
  const { readConfig } = require(from('jest-config'));
  const { globalConfig, projectConfig } = await readConfig({ _: [], $0: 'bench' }, dir);
  const Runtime = require(from('jest-runtime')).default;
  const hasteMap = await Runtime.createHasteMap(projectConfig, { maxWorkers: 1, resetCache: false, watch: false, watchman: false });
  const { hasteFS, moduleMap } = await hasteMap.build();
  const configMs = cpuMs() - configStart;
  const context = { config: projectConfig, hasteFS, moduleMap, resolver: Runtime.createResolver(projectConfig, moduleMap) };
  const TestRunner = require(from('jest-runner')).default;
  require(projectConfig.testRunner);
  require(projectConfig.testEnvironment);
  const watcher = { isInterrupted: () => false, isWatchMode: () => false, on: () => () => undefined, setState: () => undefined };
  const run = async (file) => {
    const runner = new TestRunner({ ...globalConfig, silent: true }, {});
    let passed = false;
    runner.on('test-file-success', ([, result]) => { passed = result.numFailingTests === 0 && result.numPassingTests === 1; });
    await runner.runTests([{ path: path.join(dir, '__tests__', file), context }], watcher, { serial: true });
    if (!passed) throw new Error(`${file} did not pass`);
  };
  return { run, configMs };
}

/** `fresh FILE`: one Node process that loads Jest and runs one file, as a sandboxed file's process does today. */
async function fresh(dir, file) {
  const { run, configMs } = await loadJest(dir);
  await run(file);
  process.stdout.write(`${JSON.stringify({ cpuMs: cpuMs() - configMs, faults: process.resourceUsage().minorPageFault })}\n`);
}

/** Run under the preload, --single-threaded: load Jest, warm it on one file, then fork a child per file. */
async function zygote(dir, files) {
  const koffi = require(require.resolve('koffi', { paths: [REPO] }));
  const libc = koffi.load('libc.so.6');
  const node = koffi.load(null);
  const fork = libc.func('int fork(void)');
  const exit = libc.func('void _exit(int)');
  const madvise = libc.func('int madvise(uintptr_t addr, size_t len, int advice)');
  const waitpid = libc.func('int waitpid(int pid, _Out_ int *status, int options)');
  const uvDefaultLoop = node.func('void *uv_default_loop(void)');
  const uvLoopFork = node.func('int uv_loop_fork(void *loop)');
  const MADV_DOFORK = 11;
  const undoDontFork = () => {
    let range;
    for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
      if (m) range = [BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`)];
      else if (line.startsWith('VmFlags:') && / dc( |$)/.test(line)) madvise(range[0], range[1] - range[0], MADV_DOFORK);
    }
  };
  const { run } = await loadJest(dir);
  const warmStart = cpuMs();
  await run('fs-warm.test.js');
  const warmMs = cpuMs() - warmStart;
  // The floor: a second file in the warm process itself, as in a warm Jest worker. Before any fork: after
  // one, every page the parent writes again takes a fault of its own.
  const before = { cpu: cpuMs(), faults: process.resourceUsage().minorPageFault };
  await run('fs-warm-2.test.js');
  process.stdout.write(`${JSON.stringify({ inProcess: true, cpuMs: cpuMs() - before.cpu, faults: process.resourceUsage().minorPageFault - before.faults })}\n`);
  undoDontFork();
  for (const file of files) {
    const pid = fork();
    if (pid === 0) {
      uvLoopFork(uvDefaultLoop());
      const start = cpuMs();
      run(file).then(() => {
        // getrusage in a child counts from the fork: the child's own cost, COW faults included.
        fs.writeSync(1, `${JSON.stringify({ cpuMs: cpuMs() - start, totalCpuMs: cpuMs(), faults: process.resourceUsage().minorPageFault })}\n`);
        exit(0);
      }, (error) => { fs.writeSync(2, `${error.stack}\n`); exit(1); });
      return;
    }
    const status = [0];
    waitpid(pid, status, 0);
    if (status[0] !== 0) throw new Error(`the forked child for ${file} ended with status ${status[0]}`);
  }
  process.stderr.write(`zygote: Jest loaded and warmed on one file (${warmMs.toFixed(0)} ms CPU for the warm-up file)\n`);
}

async function main() {
  const [mode, dir, ...files] = process.argv.slice(2);
  if (mode === 'fresh') return fresh(dir, files[0]);
  if (mode === 'zygote') return zygote(dir, files);
  const projectDir = project();
  for (const name of ['fs-warm', 'fs-warm-2']) fs.copyFileSync(path.join(projectDir, '__tests__', 'fs-0.test.js'), path.join(projectDir, '__tests__', `${name}.test.js`));
  const self = __filename;
  const preload = path.join(__dirname, 'fork-lever-preload.js');
  // Warm Jest's transform cache, so that both sides measure a hit.
  spawnSync(process.execPath, [self, 'fresh', projectDir, 'fs-0.test.js'], { encoding: 'utf8' });
  const freshRuns = [];
  const forkedRuns = [];
  const warmRuns = [];
  for (let i = 1; i <= rounds; i++) {
    // Alternating: one fresh process, then one zygote with one forked child.
    const a = spawnSync(process.execPath, [self, 'fresh', projectDir, `fs-${i}.test.js`], { encoding: 'utf8' });
    if (a.status !== 0) throw new Error(`fresh run failed:\n${a.stderr}`);
    freshRuns.push(JSON.parse(a.stdout.trim().split('\n').pop()));
    const b = spawnSync(process.execPath, ['--single-threaded', '--require', preload, self, 'zygote', projectDir, `fs-${rounds + i}.test.js`], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`zygote run failed:\n${b.stderr}`);
    const lines = b.stdout.trim().split('\n').map((line) => JSON.parse(line));
    forkedRuns.push(lines.find((line) => !line.inProcess));
    warmRuns.push(lines.find((line) => line.inProcess));
  }
  const freshCpu = median(freshRuns.map((r) => r.cpuMs));
  const forkedCpu = median(forkedRuns.map((r) => r.cpuMs));
  console.log(`rounds: ${rounds} (medians; each process's own CPU for one tiny file through Jest's TestRunner, Jest's config and haste map left out)`);
  console.log(`fresh Node process, loads Jest, runs the file   ${freshCpu.toFixed(0)} ms CPU, ${median(freshRuns.map((r) => r.faults))} page faults`);
  console.log(`forked from a warm zygote, runs the file        ${forkedCpu.toFixed(0)} ms CPU, ${median(forkedRuns.map((r) => r.faults))} page faults (x${(forkedCpu / freshCpu).toFixed(2)})`);
  console.log(`the same file again in the warm process itself  ${median(warmRuns.map((r) => r.cpuMs)).toFixed(0)} ms CPU, ${median(warmRuns.map((r) => r.faults))} page faults (a second file in the warm zygote, before it forks: a warm Jest worker)`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
