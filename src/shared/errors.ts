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

/** Where a failure happened, as data: kept apart from the prose so that nothing has to parse it. */
export interface ErrorDetails {
  /** The option or spec field at fault, e.g. `--ro-bind` or `mounts[3].dest`. */
  field?: string;
  /** What to do about it. */
  hint?: string;
  /** The mount operation that failed, as `describeOp` prints it. */
  op?: string;
  /** Where that operation came from (an option, a default). */
  origin?: string;
  /** The system call that failed, and its errno name (`EROFS`). */
  syscall?: string;
  errno?: string;
  /** The path the failure is about. */
  path?: string;
}

const DETAIL_KEYS = ['field', 'hint', 'op', 'origin', 'syscall', 'errno', 'path'] as const satisfies ReadonlyArray<keyof ErrorDetails>;
const KINDS: readonly SandboxErrorKind[] = ['config', 'host', 'setup', 'internal'];

export class SandboxError extends Error implements ErrorDetails {
  readonly kind: SandboxErrorKind;
  readonly field?: string;
  readonly hint?: string;
  readonly op?: string;
  readonly origin?: string;
  readonly syscall?: string;
  readonly errno?: string;
  readonly path?: string;

  constructor(kind: SandboxErrorKind, message: string, details: ErrorDetails & { cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SandboxError';
    this.kind = kind;
    const self = this as { -readonly [K in keyof ErrorDetails]: ErrorDetails[K] };
    for (const key of DETAIL_KEYS) if (details[key] !== undefined) self[key] = details[key];
    Object.defineProperty(this, brand, { value: true });
  }
}

/** A SandboxError as it crosses a process boundary (the init's status pipe). */
export interface SandboxErrorWire extends ErrorDetails {
  kind: SandboxErrorKind;
  message: string;
}

export function toWire(error: SandboxError): SandboxErrorWire {
  const wire: SandboxErrorWire = { kind: error.kind, message: error.message };
  for (const key of DETAIL_KEYS) if (error[key] !== undefined) wire[key] = error[key];
  return wire;
}

/**
 * Rebuilds exactly the error that was sent. The other side is our own init,
 * but it runs where test code will run, so only known keys with string values
 * are taken, and an unknown kind counts as our bug.
 */
export function fromWire(value: unknown, prefix = ''): SandboxError {
  const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const kind = KINDS.find((k) => k === record.kind) ?? 'internal';
  const message = typeof record.message === 'string' ? record.message : `an error without a message: ${JSON.stringify(value)}`;
  const details: ErrorDetails = {};
  for (const key of DETAIL_KEYS) {
    const field = record[key];
    if (typeof field === 'string') details[key] = field;
  }
  return new SandboxError(kind, `${prefix}${message}`, details);
}

export function isSandboxError(value: unknown): value is SandboxError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

export function configError(field: string, message: string, hint?: string): SandboxError {
  return new SandboxError('config', `${field}: ${message}`, hint === undefined ? { field } : { field, hint });
}

const REPORT_BUGS = 'to the package\'s issue tracker (`npm bugs jest-environment-mount-sandbox` opens it)';

/** One line for the user: `mount-sandbox: <message> (<what to do>)`. */
export function formatError(error: unknown): string {
  if (isSandboxError(error)) {
    const suffix = error.kind === 'internal' ? ` This is a bug in jest-environment-mount-sandbox: please report it, with this message, ${REPORT_BUGS}.` : '';
    return `mount-sandbox: ${error.message}${error.hint ? ` (${error.hint})` : ''}${suffix}`;
  }
  return `mount-sandbox: ${error instanceof Error ? error.message : String(error)}`;
}
