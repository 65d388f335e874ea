import { formatError, fromWire, SandboxError, toWire } from '../../src/shared/errors';

describe('SandboxError across a process boundary', () => {
  test('every field survives the round trip through JSON', () => {
    const sent = new SandboxError('setup', 'tmpfs /usr/x: cannot create the mount point', {
      hint: 'mount it elsewhere', op: 'tmpfs /usr/x', origin: '--tmpfs', syscall: 'mkdir', errno: 'EROFS', path: '/usr/x', field: 'mounts[3].dest',
    });
    const received = fromWire(JSON.parse(JSON.stringify(toWire(sent))));
    expect(received).toBeInstanceOf(SandboxError);
    expect({ ...received, message: received.message }).toEqual({ ...sent, message: sent.message });
  });

  test.each(['config', 'host', 'setup', 'internal'] as const)('kind %s is kept', (kind) => {
    expect(fromWire(toWire(new SandboxError(kind, 'x'))).kind).toBe(kind);
  });

  test('an unknown kind or a malformed message is our bug, and says so', () => {
    expect(fromWire({ kind: 'whatever', message: 'm' }).kind).toBe('internal');
    const odd = fromWire(42);
    expect(odd.kind).toBe('internal');
    expect(odd.message).toContain('an error without a message: 42');
  });

  test('only string details are taken', () => {
    const received = fromWire({ kind: 'setup', message: 'm', path: { toString: 'evil' }, errno: 13, hint: 'h' });
    expect(received.path).toBeUndefined();
    expect(received.errno).toBeUndefined();
    expect(received.hint).toBe('h');
  });

  test('an internal error is reported as a bug, with where to report it', () => {
    expect(formatError(new SandboxError('internal', 'boom'))).toMatch(/^mount-sandbox: boom This is a bug in jest-environment-mount-sandbox: please report it, with this message, to the package's issue tracker/);
    expect(formatError(new SandboxError('setup', 'boom', { hint: 'do this' }))).toBe('mount-sandbox: boom (do this)');
  });
});
