// Tests run as root and as an unprivileged user. CI's clone may sit where
// that user cannot enter, so global setup stages an `npm pack`ed copy of the
// package, with the dependencies it and the fixtures need, in a
// world-readable temporary folder.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
export const STAGE_VAR = 'MOUNT_SANDBOX_TEST_STAGE';

export interface Stage {
  root: string;
  /** A project folder holding node_modules with the packed package in it. */
  project: string;
  packageDir: string;
  cli: string;
}

export function stagePackage(): Stage {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mount-sandbox-stage-'));
  fs.chmodSync(root, 0o755);
  const project = path.join(root, 'project');
  const modules = path.join(project, 'node_modules');
  fs.mkdirSync(modules, { recursive: true, mode: 0o755 });
  const tarball = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', root], { cwd: REPO, encoding: 'utf8' }).trim().split('\n').pop() as string;
  // Hard links are instant and need no access to the clone's folders; a copy is the fallback across filesystems.
  try {
    execFileSync('cp', ['-al', `${REPO}/node_modules/.`, modules]);
  } catch {
    execFileSync('cp', ['-a', `${REPO}/node_modules/.`, modules]);
  }
  const packageDir = path.join(modules, 'jest-environment-mount-sandbox');
  fs.mkdirSync(packageDir, { mode: 0o755 });
  execFileSync('tar', ['-xzf', path.join(root, tarball), '-C', packageDir, '--strip-components=1', '--no-same-owner']);
  execFileSync('chmod', ['-R', 'a+rX', packageDir]);
  fs.writeFileSync(path.join(project, 'package.json'), '{"name":"staged-project","private":true}\n', { mode: 0o644 });
  return { root, project, packageDir, cli: path.join(packageDir, 'dist', 'cli', 'main.js') };
}

export function currentStage(): Stage {
  const root = process.env[STAGE_VAR];
  if (!root) throw new Error(`${STAGE_VAR} is not set: run the tests through jest, whose global setup stages the package`);
  const project = path.join(root, 'project');
  const packageDir = path.join(project, 'node_modules', 'jest-environment-mount-sandbox');
  return { root, project, packageDir, cli: path.join(packageDir, 'dist', 'cli', 'main.js') };
}

/** The `npm pack`ed tarball global setup made: what a consumer project installs. */
export function stagedTarball(stage: Stage = currentStage()): string {
  const tarballs = fs.readdirSync(stage.root).filter((name) => /^jest-environment-mount-sandbox-.*\.tgz$/.test(name));
  if (tarballs.length !== 1) throw new Error(`expected one packed tarball in ${stage.root}, found ${tarballs.length}`);
  return path.join(stage.root, tarballs[0]);
}
