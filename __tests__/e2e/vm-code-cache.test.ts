// V8 code cache for what jest-runtime compiles in the vm (src/inside/vm-code-cache.ts):
// used on the second run, stack positions unchanged, and damaged entries
// refused before V8 reads them, without failing a file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, outcomes, runJest, type JestRun } from '../helpers/jest-run';
import { USERS, type User } from '../helpers/run';

interface CacheStats {
  used: number;
  rejected: number;
  missing: number;
}

function cacheStats(run: JestRun): CacheStats[] {
  return [...run.stderr.matchAll(/vm code cache: (\d+) used, (\d+) rejected, (\d+) missing/g)].map((m) => ({ used: Number(m[1]), rejected: Number(m[2]), missing: Number(m[3]) }));
}

function entriesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe.each(USERS)('the vm code cache, as %s', (user: User) => {
  test('used on a warm run; damaged entries are refused before V8 reads them and the file still passes; off with MOUNT_SANDBOX_VM_CODE_CACHE=0', async () => {
    const dir = copyFixture('vm-code-cache');
    const jestCache = `${dir}-cache`;
    fs.mkdirSync(jestCache);
    fs.chmodSync(jestCache, 0o777);
    const args = [`--cacheDirectory=${jestCache}`];
    // import() in a CommonJS file needs vm modules.
    const env = { MOUNT_SANDBOX_DEBUG: '1', NODE_OPTIONS: '--experimental-vm-modules' };
    const expected = {
      'where.test.js › stack positions are those of the source, cached or not': 'passed',
      'dynamic.test.js › import() from a CommonJS test file': 'passed',
    };
    const go = async (extra: Record<string, string> = {}): Promise<JestRun> => {
      const run = await runJest(user, dir, args, { ...env, ...extra });
      expect(run.code).toBe(0);
      expect(outcomes(run.results)).toEqual(expected);
      return run;
    };

    // --runInBand: one file after the other, so that the second one's compiles hit what the first one wrote.
    args.push('--runInBand');
    const sum = (stats: CacheStats[]): CacheStats => stats.reduce((a, b) => ({ used: a.used + b.used, rejected: a.rejected + b.rejected, missing: a.missing + b.missing }), { used: 0, rejected: 0, missing: 0 });
    const first = cacheStats(await go());
    expect(first).toHaveLength(2);
    const cold = sum(first);
    expect(cold.rejected).toBe(0);
    expect(cold.missing).toBeGreaterThan(10);
    // The sandboxes' cache is per project: <cacheDirectory>/mount-sandbox/<project>-<hash>.
    const projectCaches = fs.readdirSync(path.join(jestCache, 'mount-sandbox'));
    expect(projectCaches).toHaveLength(1);
    const entries = entriesUnder(path.join(jestCache, 'mount-sandbox', projectCaches[0], 'mount-sandbox-vm'));
    expect(entries.length).toBe(cold.missing);
    const all = cold.used + cold.missing;

    const [warm] = [sum(cacheStats(await go()))];
    expect(warm).toEqual({ used: all, rejected: 0, missing: 0 });

    // Damaged entries: random bytes, a real entry cut short, an empty file, another file's entry, and a real entry
    // with one byte of its V8 data flipped, which V8's own checks let through to a fatal error in its deserializer.
    const other = fs.readFileSync(entries[0]);
    entries.forEach((entry, i) => {
      const real = fs.readFileSync(entry);
      const flipped = Buffer.from(real);
      flipped[flipped.length - 8] ^= 0xff;
      const damaged = [crypto.randomBytes(real.length), real.subarray(0, Math.floor(real.length / 2)), Buffer.alloc(0), other, flipped][i % 5];
      fs.writeFileSync(entry, damaged);
    });
    const forged = sum(cacheStats(await go()));
    // Every one but entries[0] (which holds its own data still) is refused before V8 sees it, and the files pass.
    expect(forged.missing).toBe(0);
    expect(forged.rejected).toBeGreaterThanOrEqual(entries.length - 1);

    const rewritten = sum(cacheStats(await go()));
    expect(rewritten).toEqual({ used: all, rejected: 0, missing: 0 });

    const off = await go({ MOUNT_SANDBOX_VM_CODE_CACHE: '0' });
    expect(cacheStats(off)).toEqual([]);
  }, 300_000);
});
