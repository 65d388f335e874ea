// Every failure says whose it is: the user's configuration, the host, the
// sandbox setup, or a bug of ours. The brand survives vm realms and IPC.
const brand = Symbol.for('jest-environment-mount-sandbox.SandboxError');

export type SandboxErrorKind =
  /** Bad options: exit code 2, nothing was launched. */
  | 'config'
  /** The host cannot provide what the sandbox needs (no user namespaces, no unshare). */
  | 'host'
  /** Building the sandbox failed after launch, before the command ran. */
  | 'setup'
  /** Our own invariant broke. */
  | 'internal';

export class SandboxError extends Error {
  readonly kind: SandboxErrorKind;
  /** The option or spec field at fault, e.g. `--ro-bind` or `mounts[3].dest`. */
  readonly field?: string;
  /** What to do about it. */
  readonly hint?: string;

  constructor(kind: SandboxErrorKind, message: string, details: { field?: string; hint?: string; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SandboxError';
    this.kind = kind;
    if (details.field !== undefined) this.field = details.field;
    if (details.hint !== undefined) this.hint = details.hint;
    Object.defineProperty(this, brand, { value: true });
  }
}

export function isSandboxError(value: unknown): value is SandboxError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

export function configError(field: string, message: string, hint?: string): SandboxError {
  return new SandboxError('config', `${field}: ${message}`, hint === undefined ? { field } : { field, hint });
}

/** One line for the user: `mount-sandbox: <message> (<what to do>)`. */
export function formatError(error: unknown): string {
  if (isSandboxError(error)) {
    const suffix = error.kind === 'internal' ? ' This is a bug in jest-environment-mount-sandbox.' : '';
    return `mount-sandbox: ${error.message}${error.hint ? ` (${error.hint})` : ''}${suffix}`;
  }
  return `mount-sandbox: ${error instanceof Error ? error.message : String(error)}`;
}
