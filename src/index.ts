// Package entry. Jest loads `testEnvironment: 'mount-sandbox'` from here and
// takes the default export; tests import `sandbox` from here. The
// environment (and jest-environment-node behind it) is loaded only when
// Jest asks for it, so importing `sandbox` in a test stays cheap.
import type MountSandboxEnvironment from './inside/environment';

export { sandbox, describeSandbox, type SandboxInfo } from './inside/sandbox-info';
export { SandboxError, isSandboxError } from './shared/errors';
export type { MountOp, MountRole, SandboxSpec, IsolationMode, UidMode, NetworkMode } from './shared/spec';

declare const exports: { default: typeof MountSandboxEnvironment };
Object.defineProperty(exports, 'default', {
  enumerable: true,
  get: (): typeof MountSandboxEnvironment => (require('./inside/environment') as { default: typeof MountSandboxEnvironment }).default,
});
