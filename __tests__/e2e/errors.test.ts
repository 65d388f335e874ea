// The init's failures reach the caller as the very SandboxError it raised:
// kind, hint, operation, origin, syscall, errno and path, not only prose.
// The launcher is driven directly with hand-written specs, so that a spec the
// option checks would refuse can stand for an internal bug.
import fs from 'node:fs';
import path from 'node:path';
import { run, sandboxRun, USERS, type User } from '../helpers/run';
import { currentStage } from '../helpers/stage';

const LAUNCH = `
const [dist, specJson] = process.argv.slice(2);
const { SandboxProcess } = require(dist + '/host/launcher.js');
const { findTools } = require(dist + '/host/tools.js');
const { detectHostSupport } = require(dist + '/host/host-support.js');
const { formatError } = require(dist + '/shared/errors.js');
const tools = findTools();
const sandbox = new SandboxProcess({ spec: JSON.parse(specJson), command: ['true'], mode: detectHostSupport(tools).mode, tools, stdio: 'pipe' });
sandbox.ready.then(
  () => console.log(JSON.stringify({ ok: true })),
  (error) => console.log(JSON.stringify({ ...error, message: error.message, formatted: formatError(error) })),
);
`;

interface Reported {
  ok?: boolean;
  kind?: string;
  message?: string;
  formatted?: string;
  [detail: string]: unknown;
}

async function launch(user: User, mounts: unknown[]): Promise<Reported> {
  const script = path.join(currentStage().root, 'launch-error.js');
  if (!fs.existsSync(script)) fs.writeFileSync(script, LAUNCH, { mode: 0o644 });
  const spec = { rootSize: 64 * 1024 ** 2, processLimit: 64, uid: 'same', network: 'host', mounts, cwd: '/', env: {} };
  const result = await run(user, [process.execPath, script, path.join(currentStage().packageDir, 'dist'), JSON.stringify(spec)]);
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as Reported;
}

describe.each(USERS)('errors from inside the sandbox, as %s', (user: User) => {
  test('setup: the failed operation, its origin, the path, the syscall and errno arrive as fields', async () => {
    const error = await launch(user, [
      { type: 'ro-bind', source: '/usr', dest: '/usr', origin: 'the test' },
      { type: 'tmpfs', dest: '/usr/no-such-dir', origin: 'a tmpfs under read-only /usr' },
    ]);
    expect(error).toMatchObject({
      kind: 'setup', op: 'tmpfs /usr/no-such-dir', origin: 'a tmpfs under read-only /usr', path: '/usr/no-such-dir', errno: 'EROFS',
    });
    expect(error.message).toMatch(/^sandbox setup failed: tmpfs \/usr\/no-such-dir .*EROFS/);
  });

  test('internal: a spec the interpreter does not know is our bug, and the message says where to report it', async () => {
    const error = await launch(user, [{ type: 'teleport', dest: '/x' }]);
    expect(error.kind).toBe('internal');
    expect(error.message).toBe('the sandbox interpreter has no operation "teleport"');
    expect(error.formatted).toContain('This is a bug in jest-environment-mount-sandbox: please report it');
  });

  test('host: an init that cannot load koffi says so, and does not blame unshare', async () => {
    // A broken install: the package without koffi beside it.
    const project = path.join(currentStage().root, 'no-koffi');
    if (!fs.existsSync(project)) {
      const modules = path.join(project, 'node_modules');
      fs.mkdirSync(modules, { recursive: true, mode: 0o755 });
      fs.cpSync(currentStage().packageDir, path.join(modules, 'jest-environment-mount-sandbox'), { recursive: true });
      fs.cpSync(path.join(currentStage().project, 'node_modules', 'tmp'), path.join(modules, 'tmp'), { recursive: true });
    }
    const result = await run(user, [process.execPath, path.join(project, 'node_modules', 'jest-environment-mount-sandbox', 'dist', 'cli', 'main.js'), 'run', '--', 'true'], { cwd: project });
    expect(result.stderr).toMatch(/^mount-sandbox: the sandbox init cannot load koffi, which makes its mount syscalls: Cannot find module 'koffi'/);
    expect(result.stderr).toContain('(reinstall the dependencies (npm ci)');
    expect(result.stderr).not.toMatch(/trampoline|unshare/);
    expect(result.code).toBe(125);
  });

  test('config errors still stop before launch, with exit status 2', async () => {
    const result = await sandboxRun(user, ['--tmpfs', 'relative/path', '--', 'true']);
    expect(result.code).toBe(2);
  });
});
