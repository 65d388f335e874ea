#!/usr/bin/env node
// A suite that needs --runInBand under plain Jest, run in parallel under
// mount-sandbox. Its 16 files write the same fixed paths (in the project, in
// /tmp, in $HOME), spawn a process, wait a little, and expect to read back
// their own value: plain Jest must run them in band, the sandbox may run them
// on every core. The two runs alternate, with a warm cache; medians. A plain
// run in parallel, once, counts the failures that make --runInBand necessary.
// Usage: node bench/parallel.js [rounds=5]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..');
const rounds = Number(process.argv[2] ?? 5);
const jestBin = path.join(REPO, 'node_modules', 'jest', 'bin', 'jest.js');
const FILES = 16;
const workers = os.availableParallelism();

function write(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** A project inside the repository, so that node_modules (jest, this package) resolve from it. */
function project() {
  const dir = path.join(REPO, 'bench', 'results', 'projects', 'parallel');
  fs.rmSync(dir, { recursive: true, force: true });
  write(path.join(dir, 'package.json'), JSON.stringify({ name: 'bench-parallel', private: true }));
  write(path.join(dir, 'jest.config.js'), `module.exports = { preset: ${JSON.stringify(path.join(REPO, 'jest-preset.js'))}, cacheDirectory: ${JSON.stringify(path.join(os.tmpdir(), 'mount-sandbox-bench-cache'))} };\n`);
  for (let i = 0; i < FILES; i++) {
    // Cleans up after each test, as a suite that runs in band must: under plain Jest these are the host's /tmp and $HOME.
    write(path.join(dir, '__tests__', `fixed-${i}.test.js`), `const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const places = [path.join(__dirname, '..', 'shared-state'), '/tmp/mount-sandbox-bench-fixed', path.join(os.homedir(), '.mount-sandbox-bench-fixed')];
afterEach(() => { for (const dir of places) fs.rmSync(dir, { recursive: true, force: true }); });
for (let t = 0; t < 4; t++) {
  test('file ${i}, test ' + t + ': reads back its own state', async () => {
    const id = '${i}-' + t;
    for (const dir of places) { fs.mkdirSync(dir, { recursive: true }); fs.writeFileSync(path.join(dir, 'state'), id); }
    // The work in between: a process spawned, as a CLI's tests do, and a short wait.
    execFileSync(process.execPath, ['-e', 'let h = require("crypto").createHash("sha256"); for (let i = 0; i < 2e5; i++) h.update("x"); h.digest()']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const dir of places) expect(fs.readFileSync(path.join(dir, 'state'), 'utf8')).toBe(id);
  });
}
`);
  }
  return dir;
}

const MODES = {
  'node --runInBand': ['--testEnvironment=node', '--runner=jest-runner', '--runInBand'],
  [`mount-sandbox -w ${workers}`]: ['-w', String(workers)],
};
const PLAIN_PARALLEL = ['--testEnvironment=node', '--runner=jest-runner', '-w', String(workers)];

function runOnce(dir, args, home) {
  const result = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, jestBin, '--ci', '--silent', '--json', ...args], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, HOME: home, MOUNT_SANDBOX_DEBUG: '0' },
  });
  const timing = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(result.stderr);
  if (!timing) throw new Error(`no timing from ${args.join(' ')} in ${dir}:\n${result.stderr.slice(-2000)}`);
  const json = JSON.parse(result.stdout);
  return { wall: +timing[1], cpu: +timing[2] + +timing[3], failed: json.numFailedTests, total: json.numTotalTests, exit: result.status };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
};

const dir = project();
// A $HOME of its own: plain Jest writes there.
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mount-sandbox-bench-home-'));
try {
  for (const args of Object.values(MODES)) runOnce(dir, args, home); // warm Jest's caches
  const runs = Object.fromEntries(Object.keys(MODES).map((mode) => [mode, []]));
  for (let i = 0; i < rounds; i++) for (const [mode, args] of Object.entries(MODES)) runs[mode].push(runOnce(dir, args, home));
  const plainParallel = runOnce(dir, PLAIN_PARALLEL, home);
  const report = { machine: { cores: os.cpus().length, node: process.version, kernel: os.release() }, rounds, files: FILES, modes: {}, plainParallel };
  for (const [mode, list] of Object.entries(runs)) {
    report.modes[mode] = { wallS: median(list.map((r) => r.wall)), cpuS: median(list.map((r) => r.cpu)), failedTests: Math.max(...list.map((r) => r.failed)), totalTests: list[0].total };
  }
  const [inBand, sandboxed] = Object.keys(MODES).map((mode) => report.modes[mode]);
  report.ratio = sandboxed.wallS / inBand.wallS;

  fs.mkdirSync(path.join(REPO, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(REPO, 'bench', 'results', 'parallel.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`| suite | plain --runInBand wall s | sandbox -w ${workers} wall s | ratio | plain --runInBand CPU s | sandbox CPU s | failed tests: in band / sandboxed / plain -w ${workers} |`);
  console.log('|---|---|---|---|---|---|---|');
  console.log(`| ${FILES} files sharing fixed paths | ${inBand.wallS.toFixed(2)} | ${sandboxed.wallS.toFixed(2)} | ${report.ratio.toFixed(2)} | ${inBand.cpuS.toFixed(2)} | ${sandboxed.cpuS.toFixed(2)} | ${inBand.failedTests} / ${sandboxed.failedTests} / ${plainParallel.failed} of ${inBand.totalTests} |`);
} finally {
  fs.rmSync(home, { recursive: true, force: true });
}
