// Runs real Jest on a fixture project, as root or as nobody, and returns its
// JSON results. Each call works on a fresh copy of the fixture inside the
// staged (world-readable) project, so runs cannot see each other's files,
// and node_modules come from the staged project one level up, as in a
// monorepo.
import fs from 'node:fs';
import path from 'node:path';
import type { FormattedTestResults } from '@jest/test-result';
import { REPO, currentStage } from './stage';
import { run, type RunResult, type User } from './run';

export interface JestRun extends RunResult {
  results: FormattedTestResults;
  /** The fixture copy the run worked in. */
  dir: string;
}

export function copyFixture(name: string, base = path.join(currentStage().project, 'runs')): string {
  fs.mkdirSync(base, { recursive: true, mode: 0o755 });
  const dir = fs.mkdtempSync(path.join(base, `${name}-`));
  fs.cpSync(path.join(REPO, 'fixtures', name), dir, { recursive: true });
  makeWorldWritable(dir);
  return dir;
}

/** nobody must be able to write snapshots, coverage and the results file in the copy. */
function makeWorldWritable(dir: string): void {
  fs.chmodSync(dir, 0o777);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) makeWorldWritable(p);
    // Executables stay executable (a fixture's scripts).
    else fs.chmodSync(p, 0o666 | (fs.statSync(p).mode & 0o111));
  }
}

export function runJest(user: User, dir: string, args: string[] = [], env: Record<string, string> = {}, timeoutMs = 120_000, prefix: string[] = []): Promise<JestRun> {
  return runJestBin(path.join(currentStage().project, 'node_modules', 'jest', 'bin', 'jest.js'), user, dir, args, env, timeoutMs, prefix);
}

/**
 * runJest with another project's Jest (fixtures/jest29's own install).
 * `prefix`: a command (run as `user`) that runs Jest, e.g. in a session keyring of its own.
 */
export async function runJestBin(jestBin: string, user: User, dir: string, args: string[] = [], env: Record<string, string> = {}, timeoutMs = 120_000, prefix: string[] = []): Promise<JestRun> {
  const outputFile = path.join(dir, `.results-${process.hrtime.bigint()}.json`);
  const result = await run(user, [...prefix, process.execPath, jestBin, '--ci=false', '--json', `--outputFile=${outputFile}`, ...args], {
    cwd: dir,
    env,
    timeoutMs,
  });
  let results: FormattedTestResults;
  try {
    results = JSON.parse(fs.readFileSync(outputFile, 'utf8')) as FormattedTestResults;
    fs.rmSync(outputFile);
  } catch {
    throw new Error(`jest wrote no results (exit ${result.code}):\n${result.stderr}\n${result.stdout}`);
  }
  return { ...result, results, dir };
}

/** `file name › test name` → status, for comparing runs. */
export function outcomes(results: FormattedTestResults): Record<string, string> {
  const map: Record<string, string> = {};
  for (const file of results.testResults) {
    const rel = path.basename(file.name);
    for (const assertion of file.assertionResults) map[`${rel} › ${assertion.fullName}`] = assertion.status;
    if (file.assertionResults.length === 0) map[`${rel}`] = file.status;
  }
  return map;
}

export function fileResult(results: FormattedTestResults, basename: string): FormattedTestResults['testResults'][number] {
  const found = results.testResults.find((file) => path.basename(file.name) === basename);
  if (!found) throw new Error(`no result for ${basename}; have ${results.testResults.map((f) => path.basename(f.name)).join(', ')}`);
  return found;
}

/** A file's status, message and failing assertions, to compare against a clean pass in one assertion that shows them all. */
export function fileFailures(results: FormattedTestResults, basename: string): { file: string; status: string; message: string; failures: string[] } {
  const result = fileResult(results, basename);
  const failures = result.assertionResults
    .filter((assertion) => assertion.status !== 'passed')
    .map((assertion) => `${assertion.fullName} [${assertion.status}]: ${(assertion.failureMessages ?? []).join('\n')}`);
  return { file: basename, status: result.status, message: result.status === 'passed' ? '' : result.message, failures };
}

/** The names in `dir`, sorted; none if it cannot be read. */
export function listing(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}
