// Kept apart from syscalls.ts so that code which only formats or recognises
// these errors (the launcher, the CLI) never loads koffi.
import { getSystemErrorMap } from 'node:util';

const brand = Symbol.for('jest-environment-mount-sandbox.SyscallError');

function describeErrno(errno: number): { name: string; message: string } {
  const entry = getSystemErrorMap().get(-errno);
  return entry ? { name: entry[0], message: entry[1] } : { name: `errno ${errno}`, message: 'unknown error' };
}

export class SyscallError extends Error {
  readonly syscall: string;
  readonly args: readonly unknown[];
  readonly errno: number;
  readonly code: string;

  constructor(syscall: string, args: readonly unknown[], errno: number) {
    const { name, message } = describeErrno(errno);
    super(`${syscall}(${args.map(formatArg).join(', ')}) failed: ${name} (${message})`);
    this.name = 'SyscallError';
    this.syscall = syscall;
    this.args = args;
    this.errno = errno;
    this.code = name;
    Object.defineProperty(this, brand, { value: true });
  }
}

/** Works across vm realms and after structured cloning, unlike instanceof. */
export function isSyscallError(value: unknown): value is SyscallError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

function formatArg(arg: unknown): string {
  if (arg === null || arg === undefined) return 'NULL';
  return typeof arg === 'string' ? JSON.stringify(arg) : String(arg);
}
