// The test environment for sandboxed files: Node's, plus a refusal to run
// anywhere but inside a sandbox started by our runner. Its constructor runs
// before Jest loads any setupFiles, so a misconfigured project fails before
// a single line of test code could touch the host.
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import type NodeEnvironmentModule from 'jest-environment-node';
import { SandboxError } from '../shared/errors';
import { SANDBOX_MARKER_VAR } from '../shared/sandbox-protocol';
import { jestModules } from '../shared/jest-modules';
import { CHILD_MARKER } from '../shared/jest-protocol';

// Jest's own copy (the one jest-config gives `testEnvironment: 'node'`), not
// one resolved from this package: jest-environment-node is no peer of ours,
// because Jest always brings it, and a second copy would be a second Jest.
const NodeEnvironment = (require(jestModules().jestEnvironmentNode) as { default: typeof NodeEnvironmentModule }).default;

export const OPTIONS_KEY = 'sandbox';

function assertInsideSandbox(testPath: string): void {
  const inChild = (globalThis as Record<symbol, unknown>)[CHILD_MARKER] === true;
  if (inChild && process.env[SANDBOX_MARKER_VAR] !== undefined) return;
  throw new SandboxError('config',
    `${testPath} uses testEnvironment "mount-sandbox", but Jest's default runner started it outside a sandbox, so it was stopped before any setupFiles or test code ran. ` +
    "Add `runner: 'jest-environment-mount-sandbox/runner'` to your Jest config, or replace testEnvironment and runner with `preset: 'jest-environment-mount-sandbox'`.");
}

export default class MountSandboxEnvironment extends NodeEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    assertInsideSandbox(context.testPath);
    // NodeEnvironment copies every testEnvironmentOptions key onto the test's
    // global object; our options are for the runner, not for the tests.
    const { [OPTIONS_KEY]: _sandboxOptions, ...testEnvironmentOptions } = config.projectConfig.testEnvironmentOptions;
    super({ ...config, projectConfig: { ...config.projectConfig, testEnvironmentOptions } }, context);
  }
}
