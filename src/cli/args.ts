// Parses `mount-sandbox run` arguments. Pure: no filesystem access, so every
// usage error is unit-tested; paths are made absolute against `cwd`. Values
// that are sandbox options (--uid, --project-mode, --hostname) are checked
// by the options' own rules (src/options/rules.ts), not restated here.
import path from 'node:path';
import { configError } from '../shared/errors';
import { checkHostname, checkProjectMode, checkUid, checkVariableName } from '../options/rules';
import { parseSize } from '../shared/size';
import type { MountOp, UidMode } from '../shared/spec';

export interface RunArgs {
  mounts: MountOp[];
  setenv: Record<string, string>;
  unsetenv: string[];
  unshareNet: boolean;
  uid: UidMode;
  cwd?: string;
  project?: string;
  rootSize?: number;
  hostname?: string;
  /** `--config FILE`: sandbox options as JSON, the same shape as testEnvironmentOptions.sandbox. */
  configFile?: string;
  /** `--config-json JSON`: the same, inline (what the Jest runner prints to reproduce a file's sandbox). */
  configJson?: string;
  projectMode?: 'overlay' | 'readonly' | 'writable';
  hide: string[];
  verbose: boolean;
  command: string[];
}

export type Parsed = { kind: 'help' } | { kind: 'version' } | { kind: 'doctor'; fix: boolean } | { kind: 'run'; args: RunArgs };

const VALUE_OPTIONS = new Set([
  '--ro-bind', '--bind', '--overlay', '--tmpfs', '--hide', '--setenv', '--unsetenv', '--uid', '--cwd', '--project', '--project-mode',
  '--root-size', '--hostname', '--config', '--config-json',
]);
const FLAG_OPTIONS = new Set(['--unshare-net', '--verbose', '-v']);

function splitPair(value: string): [string, string | undefined] {
  const colon = value.indexOf(':');
  return colon < 0 ? [value, undefined] : [value.slice(0, colon), value.slice(colon + 1)];
}

function absolute(p: string, cwd: string): string {
  return path.resolve(cwd, p);
}

function parseBind(option: string, value: string, cwd: string): MountOp {
  const origin = `${option} ${value}`;
  const [source, dest] = splitPair(value);
  if (source === '') throw configError(origin, 'expected SRC[:DST] with a non-empty SRC');
  if (dest !== undefined && !path.isAbsolute(dest)) {
    throw configError(origin, `the destination must be absolute, got ${JSON.stringify(dest)}`,
      `a path with ":" in it cannot be written as SRC:DST; give it as --config-json '{"binds": [{"source": "...", "target": "..."${option === '--bind' ? ', "writable": true' : ''}}]}'`);
  }
  const src = absolute(source, cwd);
  return { type: option === '--bind' ? 'bind' : 'ro-bind', source: src, dest: dest ?? src, role: 'user', origin };
}

function parseTmpfs(value: string): MountOp {
  const origin = `--tmpfs ${value}`;
  const [dest, sizeText] = splitPair(value);
  if (!path.isAbsolute(dest)) throw configError(origin, `expected an absolute DST[:SIZE], got ${JSON.stringify(dest)}`);
  if (sizeText === undefined) return { type: 'tmpfs', dest, role: 'user', origin };
  const size = parseSize(sizeText);
  if (size === undefined) throw configError(origin, `expected a positive size like 64m, 1g, 512k or a number of bytes, got ${JSON.stringify(sizeText)}`);
  return { type: 'tmpfs', dest, size, role: 'user', origin };
}

export function parseRunArgs(argv: readonly string[], cwd: string): RunArgs {
  const args: RunArgs = { mounts: [], setenv: {}, unsetenv: [], unshareNet: false, uid: 'same', hide: [], verbose: false, command: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-')) break;
    const eq = arg.indexOf('=');
    const [name, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (FLAG_OPTIONS.has(name) && inline !== undefined) throw configError(name, 'takes no value');
    if (FLAG_OPTIONS.has(name)) {
      if (name === '--unshare-net') args.unshareNet = true;
      else args.verbose = true;
      continue;
    }
    if (!VALUE_OPTIONS.has(name)) throw configError(name, 'unknown option (see mount-sandbox --help)');
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw configError(name, 'expects a value (see mount-sandbox --help)');
    switch (name) {
      case '--ro-bind':
      case '--bind':
        args.mounts.push(parseBind(name, value, cwd));
        break;
      case '--tmpfs':
        args.mounts.push(parseTmpfs(value));
        break;
      case '--overlay': {
        const bind = parseBind('--ro-bind', value, cwd);
        args.mounts.push({ ...bind, type: 'overlay', fallback: 'copy', origin: `--overlay ${value}` } as MountOp);
        break;
      }
      case '--hide':
        args.hide.push(absolute(value, cwd));
        break;
      case '--project-mode':
        args.projectMode = checkProjectMode(value, `--project-mode ${value}`);
        break;
      case '--config':
        args.configFile = absolute(value, cwd);
        break;
      case '--config-json':
        args.configJson = value;
        break;
      case '--setenv': {
        const at = value.indexOf('=');
        if (at <= 0) throw configError(`--setenv ${value}`, 'expected K=V');
        checkVariableName(value.slice(0, at), `--setenv ${value}`);
        args.setenv[value.slice(0, at)] = value.slice(at + 1);
        break;
      }
      case '--unsetenv':
        checkVariableName(value, `--unsetenv ${value}`);
        args.unsetenv.push(value);
        break;
      case '--uid':
        args.uid = checkUid(value, `--uid ${value}`);
        break;
      case '--cwd':
        args.cwd = absolute(value, cwd);
        break;
      case '--project':
        args.project = absolute(value, cwd);
        break;
      case '--root-size': {
        const size = parseSize(value);
        if (size === undefined) throw configError(`--root-size ${value}`, `expected a positive size like 64m, 1g, 512k or a number of bytes, got ${JSON.stringify(value)}`);
        args.rootSize = size;
        break;
      }
      case '--hostname':
        args.hostname = checkHostname(value, `--hostname ${value}`);
        break;
    }
  }
  args.command = argv.slice(i);
  if (args.command.length === 0) throw configError('run', 'no command given: mount-sandbox run [options] -- CMD [ARGS...]');
  return args;
}

export function parseCli(argv: readonly string[], cwd: string): Parsed {
  const [subcommand, ...rest] = argv;
  if (subcommand === undefined || subcommand === '--help' || subcommand === '-h' || subcommand === 'help') return { kind: 'help' };
  if (subcommand === '--version') return { kind: 'version' };
  if (subcommand === 'doctor') {
    if (rest[0] === '--help' || rest[0] === '-h') return { kind: 'help' };
    const unknown = rest.find((arg) => arg !== '--fix');
    if (unknown !== undefined) throw configError(unknown, 'unknown doctor option; expected --fix (see mount-sandbox --help)');
    return { kind: 'doctor', fix: rest.includes('--fix') };
  }
  if (subcommand !== 'run') throw configError(subcommand, 'unknown command; expected `run` or `doctor` (see mount-sandbox --help)');
  if (rest[0] === '--help' || rest[0] === '-h') return { kind: 'help' };
  return { kind: 'run', args: parseRunArgs(rest, cwd) };
}
