// From what a user asked for to a resolved spec: host defaults first, the
// user's mounts after them (so they win), then validation and symlink
// resolution. Everything that can be wrong is reported here, before launch.
import os from 'node:os';
import path from 'node:path';
import { defaultSpec, visibilityMounts, type HostFacts, type HostView } from './defaults';
import { realHost } from './host-view';
import { resolveSpec } from './resolve';
import type { MountOp, SandboxSpec, UidMode } from './spec';
import type { Tools } from './protocol';

export interface SandboxRequest {
  projectDir: string;
  mounts?: MountOp[];
  setenv?: Record<string, string>;
  unsetenv?: string[];
  network?: SandboxSpec['network'];
  uid?: UidMode;
  cwd?: string;
  rootSize?: number;
  hostname?: string;
  /** Host paths the command needs to find at the same path (our package, Jest). */
  mustSee?: string[];
}

export function hostFacts(projectDir: string): HostFacts {
  return { execPath: process.execPath, home: os.homedir(), projectDir: path.resolve(projectDir), env: process.env };
}

export function planSandbox(request: SandboxRequest, tools: Tools, host: HostView = realHost, facts: HostFacts = hostFacts(request.projectDir)): SandboxSpec {
  const spec = defaultSpec(host, facts);
  const needed = [...Object.values(tools), path.dirname(path.dirname(__dirname)), ...(request.mustSee ?? [])];
  spec.mounts.push(...visibilityMounts(host, spec.mounts, needed, 'needed by the sandbox'));
  spec.mounts.push(...(request.mounts ?? []));
  for (const [key, value] of Object.entries(request.setenv ?? {})) spec.env[key] = value;
  for (const key of request.unsetenv ?? []) delete spec.env[key];
  if (request.network !== undefined) spec.network = request.network;
  if (request.uid !== undefined) spec.uid = request.uid;
  if (request.cwd !== undefined) spec.cwd = request.cwd;
  if (request.rootSize !== undefined) spec.rootSize = request.rootSize;
  if (request.hostname !== undefined) spec.hostname = request.hostname;
  return resolveSpec(spec, host);
}
