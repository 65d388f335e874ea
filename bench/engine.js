#!/usr/bin/env node
// Launch overhead of the sandbox engine: `mount-sandbox run -- true` (the
// init chain) and `mount-sandbox run -- node -e 0` (the one-Node chain, and
// with MOUNT_SANDBOX_ONE_NODE=0 the init chain with node as its command) next
// to `node -e 0`, alternating in one run so that only the ratios matter.
// Usage: node bench/engine.js [rounds]   (needs `npm run build` first)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const rounds = Number(process.argv[2] ?? 20);
const cli = path.join(__dirname, '..', 'dist', 'cli', 'main.js');

function time(argv, env = {}) {
  const start = process.hrtime.bigint();
  const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, ...env } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr}`);
  return { ms, stderr: result.stderr };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const node = [];
const sandbox = [];
const sandboxNode = [];
const sandboxNodeTwo = [];
const mounts = [];
const initToExec = [];
time([process.execPath, cli, 'run', '--', 'true']); // warm the page cache
for (let i = 0; i < rounds; i++) {
  node.push(time([process.execPath, '-e', '0']).ms);
  const run = time([process.execPath, cli, 'run', '--verbose', '--', 'true']);
  sandbox.push(run.ms);
  sandboxNode.push(time([process.execPath, cli, 'run', '--', process.execPath, '-e', '0']).ms);
  sandboxNodeTwo.push(time([process.execPath, cli, 'run', '--', process.execPath, '-e', '0'], { MOUNT_SANDBOX_ONE_NODE: '0' }).ms);
  const timings = /mounts ([\d.]+) ms, init→exec ([\d.]+) ms/.exec(run.stderr);
  if (timings) {
    mounts.push(Number(timings[1]));
    initToExec.push(Number(timings[2]));
  }
}

const result = {
  rounds,
  nodeStartMs: median(node),
  sandboxRunTrueMs: median(sandbox),
  overheadMs: median(sandbox) - median(node),
  ratio: median(sandbox) / median(node),
  sandboxRunNodeMs: median(sandboxNode),
  sandboxRunNodeRatio: median(sandboxNode) / median(node),
  sandboxRunNodeTwoNodeMs: median(sandboxNodeTwo),
  sandboxRunNodeTwoNodeRatio: median(sandboxNodeTwo) / median(node),
  mountSetupMs: median(mounts),
  initStartToExecMs: median(initToExec),
};
fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
fs.writeFileSync(path.join(__dirname, 'results', 'engine.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`rounds: ${rounds} (medians, ms)`);
console.log(`node -e 0                       ${result.nodeStartMs.toFixed(1)}`);
console.log(`mount-sandbox run -- true       ${result.sandboxRunTrueMs.toFixed(1)}  (x${result.ratio.toFixed(2)}, +${result.overheadMs.toFixed(1)} ms)`);
console.log(`mount-sandbox run -- node -e 0  ${result.sandboxRunNodeMs.toFixed(1)}  (x${result.sandboxRunNodeRatio.toFixed(2)}; one Node process)`);
console.log(`  MOUNT_SANDBOX_ONE_NODE=0      ${result.sandboxRunNodeTwoNodeMs.toFixed(1)}  (x${result.sandboxRunNodeTwoNodeRatio.toFixed(2)}; the init chain: two)`);
console.log(`  mount setup inside            ${result.mountSetupMs.toFixed(2)}`);
console.log(`  init start → exec             ${result.initStartToExecMs.toFixed(1)}`);
// Issue 11's target. The CLI is itself a Node process, so `mount-sandbox run -- node -e 0` starts two
// Node processes to node's one, and cannot come under 2x as measured.
console.log(`target: mount-sandbox run -- node -e 0 <= 1.3x node -e 0: ${result.sandboxRunNodeRatio <= 1.3 ? 'met' : 'missed'} (x${result.sandboxRunNodeRatio.toFixed(2)})`);
