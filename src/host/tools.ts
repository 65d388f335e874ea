// Finds the util-linux and shell binaries the launch chain execs. They run
// both outside and inside the sandbox, so they must be absolute paths that
// the sandbox's mounts make visible.
import fs from 'node:fs';
import path from 'node:path';
import { SandboxError } from '../shared/errors';
import type { Tools } from '../shared/sandbox-protocol';

function which(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

let cached: Tools | undefined;

/**
 * The package installs everywhere, so that a mixed team can share one
 * package.json, but it can only sandbox on Linux. Failing here, before any
 * file is launched, makes every sandboxed file fail with this message instead
 * of running unsandboxed.
 */
export function assertLinux(platform: NodeJS.Platform = process.platform): void {
  if (platform === 'linux') return;
  throw new SandboxError('host', `sandboxes need Linux namespaces, and this host is ${platform}: no sandboxed file was run`, {
    hint: 'run these tests on Linux or in CI; to run them unsandboxed here on purpose, make that choice visible in jest.config (see "Mixed teams" in the README)',
  });
}

export function findTools(searchPath = process.env.PATH ?? '', platform: NodeJS.Platform = process.platform): Tools {
  assertLinux(platform);
  if (cached) return cached;
  const fullPath = `${searchPath}:/usr/bin:/bin:/usr/sbin:/sbin`;
  const found: Partial<Tools> = {};
  const hints = {
    sh: 'install a POSIX shell at /bin/sh',
    env: 'install coreutils (Debian/Ubuntu: apt-get install coreutils)',
    unshare: 'install util-linux >= 2.36 (Debian/Ubuntu: apt-get install util-linux)',
    setpriv: 'install util-linux >= 2.36 (Debian/Ubuntu: apt-get install util-linux)',
  };
  for (const name of ['unshare', 'setpriv', 'sh', 'env'] as const) {
    const at = which(name, fullPath);
    if (at === undefined) {
      throw new SandboxError('host', `cannot find \`${name}\` on PATH`, { hint: hints[name] });
    }
    found[name] = at;
  }
  cached = found as Tools;
  return cached;
}
