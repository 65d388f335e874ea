#!/usr/bin/env node
// Jest under mount-sandbox against plain jest-environment-node, in one run.
// Suites: (a) 50 tiny files doing a little async fs, (b) 10 TypeScript files
// through ts-jest, (c) the 20-file parity fixture, (d) one file with 500
// tests. Each suite runs node and mount-sandbox alternately, with a warm
// cache; only the ratios within this run mean anything.
// Usage: node bench/jest.js [rounds=5] [suite letters, e.g. ad]
// BENCH_LEVERS=1 adds the sandbox with each lever of issue 11 off (MOUNT_SANDBOX_TRANSFORM_KEYS=0,
// MOUNT_SANDBOX_VM_CODE_CACHE=0, both, and MOUNT_SANDBOX_ONE_NODE=0: the init and the Jest child as two
// Node processes), alternating with the other modes.
// Suite (a) also runs under vitest's default pool (forks, isolated: a fresh
// process per file, as ours), the peer a fresh-process-per-file design is
// measured against.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
const rounds = Number(process.argv[2] ?? 5);
const only = process.argv[3] ?? 'abcd';
const jestBin = path.join(REPO, 'node_modules', 'jest', 'bin', 'jest.js');
const vitestBin = path.join(REPO, 'node_modules', 'vitest', 'vitest.mjs');

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** A project inside the repository, so that node_modules (jest, ts-jest, this package) resolve from it. */
function project(name, files, extraConfig = '') {
  const dir = path.join(REPO, 'bench', 'results', 'projects', name);
  fs.rmSync(dir, { recursive: true, force: true });
  write(path.join(dir, 'package.json'), JSON.stringify({ name: `bench-${name}`, private: true }));
  write(path.join(dir, 'jest.config.js'), `module.exports = { preset: ${JSON.stringify(path.join(REPO, 'jest-preset.js'))}, cacheDirectory: ${JSON.stringify(path.join(os.tmpdir(), 'mount-sandbox-bench-cache'))}, ${extraConfig} };\n`);
  for (const [file, text] of Object.entries(files)) write(path.join(dir, file), text);
  return dir;
}

/**
 * Bench projects whose tests fail by design: a non-zero exit is theirs, not a broken run. The value is how
 * many of their files fail to run by design (the parity fixture's missing module); one more is a broken bench.
 */
const failsOnPurpose = new Map();

function suites() {
  const all = {};
  if (only.includes('a')) {
    const files = {};
    for (let i = 0; i < 50; i++) {
      // Cleans up after itself: under plain jest-environment-node this is the host's /tmp.
      files[`__tests__/fs-${i}.test.js`] = `const fs = require('fs');
test('a little async fs ${i}', async () => {
  const file = require('path').join(require('os').tmpdir(), 'mount-sandbox-bench-' + process.pid + '-${i}');
  await fs.promises.writeFile(file, 'x'.repeat(100));
  expect(await fs.promises.readFile(file, 'utf8')).toHaveLength(100);
  await fs.promises.rm(file);
});\n`;
    }
    // The same files under vitest: its globals stand in for Jest's, two workers as Jest's -w 2 on this machine.
    files['vitest.config.mjs'] = `export default { test: { globals: true, pool: 'forks', isolate: true, include: ['__tests__/**/*.test.js'], maxWorkers: ${Math.max(1, os.cpus().length)} } };\n`;
    all['a: 50 tiny async-fs files'] = project('a', files);
  }
  if (only.includes('b')) {
    const files = { 'src/sum.ts': 'export interface Pair { a: number; b: number }\nexport const sum = ({ a, b }: Pair): number => a + b;\n' };
    for (let i = 0; i < 10; i++) {
      files[`__tests__/sum-${i}.test.ts`] = `import { sum } from '../src/sum';\ntest('sum ${i}', () => { const n: number = sum({ a: ${i}, b: 1 }); expect(n).toBe(${i + 1}); });\n`;
    }
    // A tsconfig.json of the project's own: without one, ts-jest takes the nearest one above, this
    // repository's, whose `types: ["node"]` leaves out Jest's globals, so every file failed to compile,
    // nothing was ever cached, and the suite measured ts-jest's type errors.
    files['tsconfig.json'] = `${JSON.stringify({ compilerOptions: { module: 'commonjs', target: 'es2020', strict: true } })}\n`;
    all['b: 10 TypeScript files (ts-jest)'] = project('b', files, `transform: { '^.+\\\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] }`);
  }
  if (only.includes('c')) {
    const dir = project('c', {});
    fs.cpSync(path.join(REPO, 'fixtures', 'parity', '__tests__'), path.join(dir, '__tests__'), { recursive: true });
    for (const extra of ['probe.js']) if (fs.existsSync(path.join(REPO, 'fixtures', 'parity', extra))) fs.cpSync(path.join(REPO, 'fixtures', 'parity', extra), path.join(dir, extra));
    all['c: the 20-file parity fixture'] = dir;
    // Its failing tests are the point of the fixture (parity of failure output with plain Jest).
    failsOnPurpose.set(dir, 1);
  }
  if (only.includes('d')) {
    all['d: one file with 500 tests'] = project('d', {
      '__tests__/many.test.js': `for (let i = 0; i < 500; i++) test('case ' + i, () => { expect([i, i + 1]).toEqual([i, i + 1]); });\n`,
    });
  }
  return all;
}

const MODES = {
  node: { args: ['--testEnvironment=node', '--runner=jest-runner'], env: {} },
  'mount-sandbox': { args: [], env: {} },
  'vitest forks, isolated': { bin: vitestBin, args: ['run', '--silent'], env: {}, suites: ['a'] },
};
// BENCH_LEVERS=1: also run the sandbox with each lever off, alternating with the rest, to show what each saves.
if (process.env.BENCH_LEVERS === '1') {
  MODES['sandbox, no transform keys'] = { args: [], env: { MOUNT_SANDBOX_TRANSFORM_KEYS: '0' } };
  MODES['sandbox, no vm code cache'] = { args: [], env: { MOUNT_SANDBOX_VM_CODE_CACHE: '0' } };
  MODES['sandbox, neither'] = { args: [], env: { MOUNT_SANDBOX_TRANSFORM_KEYS: '0', MOUNT_SANDBOX_VM_CODE_CACHE: '0' } };
  MODES['sandbox, two Node processes'] = { args: [], env: { MOUNT_SANDBOX_ONE_NODE: '0' } };
}

// BENCH_MODES='sandbox, two Node processes;vitest forks, isolated' (names joined by ';') runs only those, for a
// quicker A/B of one lever; node and mount-sandbox always run, since the tables are relative to them.
const onlyModes = process.env.BENCH_MODES ? new Set(['node', 'mount-sandbox', ...process.env.BENCH_MODES.split(';')]) : undefined;

/** The modes that run on a suite: vitest only where its config was written. */
function modesFor(name) {
  return Object.keys(MODES).filter((mode) => (!MODES[mode].suites || MODES[mode].suites.includes(name[0])) && (!onlyModes || onlyModes.has(mode)));
}

function runOnce(dir, mode) {
  const argv = MODES[mode].bin ? [MODES[mode].bin, ...MODES[mode].args] : [jestBin, '--ci', '--silent', ...MODES[mode].args];
  const result = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, ...argv], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, MOUNT_SANDBOX_DEBUG: mode === 'node' ? '0' : '1', PARITY_PROBE_DIR: '', ...MODES[mode].env },
  });
  const timing = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(result.stderr);
  if (!timing) throw new Error(`no timing from ${mode} in ${dir}:\n${result.stderr.slice(-2000)}`);
  // Even where tests fail by design, a file that cannot run at all (it fails to compile) is a broken bench.
  if (result.stderr.split('Test suite failed to run').length - 1 > (failsOnPurpose.get(dir) ?? 0)) throw new Error(`a test file failed to run under ${mode} in ${dir}:\n${result.stderr.slice(-2000)}`);
  const files = [...result.stderr.matchAll(/launch→init (\d+) ms, mounts ([\d.]+) ms, init→exec (\d+) ms, child start\+load Jest (\d+) ms, waited for a slot (\d+) ms, run (\d+) ms, total (\d+) ms[^\n]*?, child peak RSS ([\d.]+) MB/g)]
    .map((m) => ({ launchToInit: +m[1], mounts: +m[2], initToExec: +m[3], childLoad: +m[4], waited: +m[5], run: +m[6], total: +m[7], childRssMb: +m[8] }));
  // The test process's own CPU by phase (the one-Node chain's line; the init chain names its phases differently).
  const cpuPhases = [...result.stderr.matchAll(/CPU setup (\d+) ms, load Jest (\d+) ms, run (\d+) ms, (\d+) page faults/g)].map((m) => ({ setup: +m[1], load: +m[2], run: +m[3], faults: +m[4] }));
  if (result.status !== 0 && !failsOnPurpose.has(dir)) throw new Error(`${mode} failed in ${dir} (exit ${result.status}):\n${(result.stdout + result.stderr).slice(-2000)}`);
  return { wall: +timing[1], cpu: +timing[2] + +timing[3], maxRssMb: +timing[4] / 1024, files, cpuPhases, exit: result.status };
}

/** Test files of a bench project (for CPU per file in the modes that print no per-file timings). */
function fileCount(dir) {
  return fs.readdirSync(path.join(dir, '__tests__'), { recursive: true }).filter((f) => /\.test\.[jt]s$/.test(String(f))).length;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
};

const report = { machine: { cores: os.cpus().length, node: process.version, kernel: os.release() }, rounds, suites: {} };
for (const [name, dir] of Object.entries(suites())) {
  const modes = modesFor(name);
  for (const mode of modes) runOnce(dir, mode); // warm Jest's caches
  const runs = Object.fromEntries(modes.map((mode) => [mode, []]));
  for (let i = 0; i < rounds; i++) for (const mode of modes) runs[mode].push(runOnce(dir, mode));
  const files = runs['mount-sandbox'].flatMap((r) => r.files);
  const summary = {};
  for (const mode of modes) {
    summary[mode] = { wallS: median(runs[mode].map((r) => r.wall)), cpuS: median(runs[mode].map((r) => r.cpu)), maxRssMb: median(runs[mode].map((r) => r.maxRssMb)),
      // The whole run's CPU (Jest's process included) over the files it ran.
      cpuPerFileMs: median(runs[mode].map((r) => (r.cpu * 1000) / Math.max(1, fileCount(dir)))) };
  }
  summary.ratio = summary['mount-sandbox'].wallS / summary.node.wallS;
  summary.cpuRatio = summary['mount-sandbox'].cpuS / summary.node.cpuS;
  summary.perFileMs = Object.fromEntries(['launchToInit', 'mounts', 'initToExec', 'childLoad', 'waited', 'run', 'total', 'childRssMb'].map((k) => [k, median(files.map((f) => f[k]))]));
  const cpuPhases = runs['mount-sandbox'].flatMap((r) => r.cpuPhases);
  summary.childCpuMs = Object.fromEntries(['setup', 'load', 'run', 'faults'].map((k) => [k, median(cpuPhases.map((c) => c[k]))]));
  summary.childCpuMs.total = median(cpuPhases.map((c) => c.setup + c.load + c.run));
  report.suites[name] = summary;
  process.stderr.write(`${name}: done\n`);
}

fs.mkdirSync(path.join(REPO, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(REPO, 'bench', 'results', 'jest.json'), `${JSON.stringify(report, null, 2)}\n`);
const rows = [['suite', 'node wall s', 'sandbox wall s', 'ratio', 'node cpu s', 'sandbox cpu s', 'cpu ratio', 'peak RSS node/sandbox MB', 'child RSS MB']];
for (const [name, s] of Object.entries(report.suites)) {
  rows.push([name, s.node.wallS.toFixed(2), s['mount-sandbox'].wallS.toFixed(2), s.ratio.toFixed(2), s.node.cpuS.toFixed(2), s['mount-sandbox'].cpuS.toFixed(2), s.cpuRatio.toFixed(2),
    `${s.node.maxRssMb.toFixed(0)} / ${s['mount-sandbox'].maxRssMb.toFixed(0)}`, s.perFileMs.childRssMb.toFixed(0)]);
}
console.log(rows.map((r) => `| ${r.join(' | ')} |`).join('\n'));
console.log('\nEvery mode (medians; CPU per file is the whole run\'s CPU over its files):\n| suite | mode | wall s | cpu s | cpu per file ms | wall ratio to node |\n|---|---|---|---|---|---|');
for (const [name, s] of Object.entries(report.suites)) {
  for (const mode of modesFor(name)) console.log(`| ${name} | ${mode} | ${s[mode].wallS.toFixed(2)} | ${s[mode].cpuS.toFixed(2)} | ${s[mode].cpuPerFileMs.toFixed(0)} | ${(s[mode].wallS / s.node.wallS).toFixed(2)} |`);
}
for (const [name, s] of Object.entries(report.suites)) {
  const peer = s['vitest forks, isolated'];
  if (peer) console.log(`\n${name}: mount-sandbox / vitest forks (isolated): wall ${(s['mount-sandbox'].wallS / peer.wallS).toFixed(2)}, cpu ${(s['mount-sandbox'].cpuS / peer.cpuS).toFixed(2)} (below 1 means the sandbox is faster)`);
}
console.log('\nCPU per sandboxed file (medians, ms): the test process by phase, then the rest of the run\'s CPU per file (Jest\'s own process, util-linux, the kernel\'s namespaces):\n| suite | Node start + sandbox setup | load Jest | run the file | test process | its page faults | whole run per file | rest |\n|---|---|---|---|---|---|---|---|');
for (const [name, s] of Object.entries(report.suites)) {
  const c = s.childCpuMs;
  const whole = s['mount-sandbox'].cpuPerFileMs;
  console.log(`| ${name} | ${c.setup} | ${c.load} | ${c.run} | ${c.total} | ${c.faults} | ${whole.toFixed(0)} | ${(whole - c.total).toFixed(0)} |`);
}
console.log('\nPer sandboxed file (medians, ms):\n| suite | launch→init | mounts | init→exec | child start + load Jest | waited for a slot | run | total |\n|---|---|---|---|---|---|---|---|');
for (const [name, s] of Object.entries(report.suites)) {
  const f = s.perFileMs;
  console.log(`| ${name} | ${f.launchToInit} | ${f.mounts} | ${f.initToExec} | ${f.childLoad} | ${f.waited} | ${f.run} | ${f.total} |`);
}

// Issue 11's targets, checked against this run's medians (each suite only when it ran).
const targets = [];
const suiteNamed = (letter) => Object.entries(report.suites).find(([name]) => name.startsWith(`${letter}:`))?.[1];
const a = suiteNamed('a');
if (a) {
  targets.push(['a: wall ratio to node', a.ratio, '<=', 2.5]);
  targets.push(['a: CPU per file, ms', a['mount-sandbox'].cpuPerFileMs, '<=', 400]);
  const peer = a['vitest forks, isolated'];
  if (peer) {
    targets.push(['a: wall against vitest forks (isolated)', a['mount-sandbox'].wallS / peer.wallS, '<', 1]);
    targets.push(['a: CPU against vitest forks (isolated)', a['mount-sandbox'].cpuS / peer.cpuS, '<', 1]);
  }
}
if (suiteNamed('b')) targets.push(['b: wall ratio to node (ts-jest)', suiteNamed('b').ratio, '<=', 2.5]);
if (suiteNamed('c')) targets.push(['c: wall ratio to node (parity fixture)', suiteNamed('c').ratio, '<=', 2.0]);
if (targets.length > 0) {
  console.log('\nIssue 11\'s targets (bench/engine.js checks `mount-sandbox run -- node -e 0`):\n| target | this run | goal | |\n|---|---|---|---|');
  for (const [what, value, op, goal] of targets) {
    const met = op === '<' ? value < goal : value <= goal;
    console.log(`| ${what} | ${value.toFixed(2)} | ${op} ${goal} | ${met ? 'met' : 'missed'} |`);
  }
}
