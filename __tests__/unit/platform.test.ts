import { isSandboxError } from '../../src/shared/errors';
import { assertLinux, findTools } from '../../src/host/tools';

describe('a host that is not Linux', () => {
  test.each<NodeJS.Platform>(['darwin', 'win32', 'freebsd'])('%s is refused with the reason and what to do', (platform) => {
    let thrown: unknown;
    try {
      findTools('/usr/bin:/bin', platform);
    } catch (error) {
      thrown = error;
    }
    expect(isSandboxError(thrown)).toBe(true);
    const error = thrown as Error & { kind: string; hint?: string };
    expect(error.kind).toBe('host');
    expect(error.message).toContain(`this host is ${platform}: no sandboxed file was run`);
    expect(error.hint).toMatch(/Mixed teams/);
  });

  test('Linux passes', () => {
    expect(() => assertLinux('linux')).not.toThrow();
    expect(findTools('/usr/bin:/bin', 'linux').unshare).toMatch(/\/unshare$/);
  });
});
