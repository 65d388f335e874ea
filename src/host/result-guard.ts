// Everything one sandboxed file reports, checked before Jest's process acts
// on it: the result rebuilt (result-sanitizer.ts), its paths cut to what the
// host may open (path-trust.ts, coverage-trust.ts), and every drop named in
// a warning, at most MAX_WARNINGS per file so that a hostile file cannot
// flood the terminal.
import type { SerializableError, TestEvents, TestResult } from '@jest/test-result';
import type { Config } from '@jest/types';
import type { TestRunnerContext } from 'jest-runner';
import fs from 'node:fs';
import path from 'node:path';
import { jestCollects, trustCoverage, trustedMapsFolder } from './coverage-trust';
import { FileFailure } from './file-failure';
import { MAX_FAILURE_DETAILS, ParsedTextBudget } from './parsed-text';
import { pathTrust, trustStack, type PathTrust } from './path-trust';
import { UntrustedResult, sanitizeCaseResult, sanitizeCaseStart, sanitizeError, sanitizeTestResult } from './result-sanitizer';

/** Warnings about dropped paths per file, beyond which they are only counted. */
const MAX_WARNINGS = 20;

export type CaseEvent = 'test-case-start' | 'test-case-result';

export interface ResultGuardOptions {
  testPath: string;
  config: Config.ProjectConfig;
  globalConfig: Config.GlobalConfig;
  runnerContext: TestRunnerContext;
  /** Paths the sandbox hid from the file (its `hide` mounts): never opened for it either. */
  hidden: readonly string[];
  /** This project's sandboxes' cache: the one place a v8 source map may be read from. */
  sandboxCache: string;
}

function realpathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class ResultGuard {
  readonly #options: ResultGuardOptions;
  #trust: PathTrust | undefined;
  #warnings = 0;
  readonly #droppedFrames = new Set<string>();

  constructor(options: ResultGuardOptions) {
    this.#options = options;
  }

  /** A test-case event's arguments, rebuilt for this file; throws UntrustedResult when they are not Jest's shape. */
  caseEvent<Name extends CaseEvent>(name: Name, info: unknown): TestEvents[Name] {
    const { testPath } = this.#options;
    return (name === 'test-case-result' ? [testPath, sanitizeCaseResult(info, { trustStack: this.#stack, boundText: this.#bound, boundDetails: this.#details })] : [testPath, sanitizeCaseStart(info, this.#unkept)]) as TestEvents[Name];
  }

  /** The file's result as Jest may act on it, or a FileFailure saying what was wrong with it. */
  result(raw: unknown): TestResult {
    const { testPath, config, globalConfig, runnerContext } = this.#options;
    try {
      return sanitizeTestResult(raw, {
        testPath,
        ...(config.displayName !== undefined ? { displayName: config.displayName } : {}),
        trustStack: this.#stack,
        boundText: this.#bound,
        boundDetails: this.#details,
        trustOrigin: this.#origin,
        trustCoverage: (coverage, v8) => {
          if (coverage === undefined && v8 === undefined) return {};
          const sandboxCache = realpathOr(this.#options.sandboxCache);
          const wantsMaps = globalConfig.collectCoverage && globalConfig.coverageProvider === 'v8';
          return trustCoverage(coverage, v8, {
            trust: this.#pathTrust(),
            collects: jestCollects(config, globalConfig, runnerContext),
            sandboxCache,
            trustedMaps: wantsMaps ? trustedMapsFolder(config.cacheDirectory, sandboxCache) : undefined,
            warn: (line) => this.#warn(line),
          });
        },
      });
    } catch (error) {
      const why = error instanceof UntrustedResult ? error.message : `it could not be checked (${messageOf(error)})`;
      throw FileFailure.of(`mount-sandbox: the sandboxed test process sent an inconsistent result for ${testPath}, so the file fails: ${why}`);
    }
  }

  /** A failure the child reported: its message and stack are rendered on the host, with a code frame of the file the top frame names. */
  failure(raw: unknown): SerializableError {
    try {
      return sanitizeError(raw, 'failure', this.#stack);
    } catch (problem) {
      return { message: `mount-sandbox: the sandboxed test process reported a malformed failure for ${this.#options.testPath}: ${messageOf(problem)}`, stack: '', type: 'Error' };
    }
  }

  readonly #budget = new ParsedTextBudget();
  readonly #bound = (text: string): string => this.#budget.cut(text);
  /** Text Jest prints and drops (a test-case-start's titles). */
  readonly #unkept = (text: string): string => this.#budget.cut(text, false);
  #detailsDropped = false;
  readonly #details = (details: unknown[]): unknown[] => this.#budget.details(details, () => {
    if (this.#detailsDropped) return;
    this.#detailsDropped = true;
    this.#warn(`dropped failureDetails beyond ${MAX_FAILURE_DETAILS / 1024 ** 2} MiB (as JSON): Jest keeps them to the end of the run; the failure messages still say what failed`);
  });

  readonly #stack = (text: string): string => this.#trusted(this.#budget.cut(text));
  readonly #origin = (text: string): string => this.#trusted(this.#budget.cut(text, false));

  #trusted(text: string): string {
    const { text: kept, dropped } = trustStack(text, this.#pathTrust());
    for (const file of dropped) {
      if (this.#droppedFrames.has(file)) continue;
      this.#droppedFrames.add(file);
      this.#warn(`dropped a stack frame naming ${JSON.stringify(file)}: the host does not open files outside the project for a sandboxed file`);
    }
    return kept;
  }

  #pathTrust(): PathTrust {
    const { config, hidden } = this.#options;
    this.#trust ??= pathTrust({ roots: [config.rootDir, ...config.roots], hidden, written: [config.cacheDirectory] });
    return this.#trust;
  }

  #warn(line: string): void {
    this.#warnings++;
    if (this.#warnings > MAX_WARNINGS) return;
    const more = this.#warnings === MAX_WARNINGS ? ' (further warnings for this file are not shown)' : '';
    process.stderr.write(`mount-sandbox: ${path.relative(process.cwd(), this.#options.testPath)}: ${line}${more}\n`);
  }
}
