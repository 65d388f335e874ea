// Real files in a temporary folder: the trust decisions are about what exists on the host.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trustCoverage, type CoverageTrustOptions } from '../../src/host/coverage-trust';
import { pathTrust, trustStack } from '../../src/host/path-trust';

let base: string;
let project: string;
let cache: string;
let maps: string;
let secret: string;

beforeAll(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tmp-coverage-trust-')));
  project = path.join(base, 'project');
  cache = path.join(base, 'cache', 'mount-sandbox');
  maps = path.join(base, 'cache', 'checked-maps');
  for (const dir of [path.join(project, 'src'), path.join(project, '.secret'), cache, maps]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(project, 'src', 'a.js'), 'module.exports = 1;\n');
  fs.writeFileSync(path.join(project, 'src', 'a.ts'), 'export = 1;\n');
  fs.writeFileSync(path.join(project, '.secret', 'key.js'), 'hidden');
  secret = path.join(base, 'secret.txt');
  fs.writeFileSync(secret, 'TOP SECRET');
  fs.symlinkSync(secret, path.join(project, 'src', 'link.js'));
});

afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

function fileCoverage(p: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { path: p, statementMap: { 0: { start: { line: 1, column: 0 }, end: { line: 1, column: 19 } } }, fnMap: {}, branchMap: {}, s: { 0: 1 }, f: {}, b: {}, ...extra };
}

function options(warnings: string[], overrides: Partial<CoverageTrustOptions> = {}): CoverageTrustOptions {
  return {
    trust: pathTrust({ roots: [project], hidden: [path.join(project, '.secret')] }),
    collects: (file) => !file.endsWith('.test.js'),
    sandboxCache: cache,
    trustedMaps: maps,
    warn: (line) => warnings.push(line),
    ...overrides,
  };
}

describe('trustCoverage: babel coverage', () => {
  test('keeps a project file, drops secrets, `..` keys, links out, hidden paths, key/path mismatches and what Jest would not collect', () => {
    const a = path.join(project, 'src', 'a.js');
    const raw = {
      [a]: fileCoverage(a),
      [secret]: fileCoverage(secret),
      [`${project}/src/../../secret.txt`]: fileCoverage(`${project}/src/../../secret.txt`),
      [path.join(project, 'src', 'link.js')]: fileCoverage(path.join(project, 'src', 'link.js')),
      [path.join(project, '.secret', 'key.js')]: fileCoverage(path.join(project, '.secret', 'key.js')),
      [path.join(project, 'src', 'b.js')]: fileCoverage(a),
      [path.join(project, 'src', 'x.test.js')]: fileCoverage(path.join(project, 'src', 'x.test.js')),
    };
    const warnings: string[] = [];
    const out = trustCoverage(raw, undefined, options(warnings));
    expect(Object.keys(out.coverage ?? {})).toEqual([a]);
    expect(warnings).toHaveLength(6);
    expect(warnings.join('\n')).toContain(`dropped coverage for ${JSON.stringify(secret)}: lies outside the project's roots`);
    expect(warnings.join('\n')).toContain('not a normalized path');
    expect(warnings.join('\n')).toContain('is hidden from the sandbox');
    expect(warnings.join('\n')).toContain('not its key');
  });

  test('a source map naming a file outside the project is removed, the coverage stays', () => {
    const a = path.join(project, 'src', 'a.js');
    const warnings: string[] = [];
    const evil = { version: 3, sources: ['../../secret.txt'], mappings: '' };
    const good = { version: 3, sources: ['a.ts'], mappings: '' };
    const out = trustCoverage({ [a]: fileCoverage(a, { inputSourceMap: evil }) }, undefined, options(warnings));
    expect(out.coverage?.[a]).not.toHaveProperty('inputSourceMap');
    expect(warnings[0]).toMatch(/dropped the source map .* its source ".*secret\.txt" lies outside/);
    const kept = trustCoverage({ [a]: fileCoverage(a, { inputSourceMap: good }) }, undefined, options([]));
    expect(kept.coverage?.[a]).toHaveProperty('inputSourceMap', good);
    for (const sourceRoot of ['/', 'http://example.com/']) {
      const rooted = trustCoverage({ [a]: fileCoverage(a, { inputSourceMap: { ...good, sourceRoot } }) }, undefined, options([]));
      expect(rooted.coverage?.[a]).not.toHaveProperty('inputSourceMap');
    }
  });
});

describe('trustCoverage: v8 coverage', () => {
  const entry = (url: string, sourceMapPath: string | null = null): Record<string, unknown> => ({
    codeTransformResult: { code: 'x', originalCode: 'y', sourceMapPath, wrapperLength: 0 },
    result: { url, scriptId: '1', functions: [{ functionName: '', isBlockCoverage: true, ranges: [{ startOffset: 0, endOffset: 1, count: 1 }] }] },
  });

  test('keeps entries for project files only', () => {
    const a = path.join(project, 'src', 'a.js');
    const warnings: string[] = [];
    const out = trustCoverage(undefined, [entry(a), entry(secret), entry(`file://${a}`), { result: { url: a } }], options(warnings));
    expect(out.v8Coverage?.map((e) => e.result.url)).toEqual([a]);
    expect(warnings).toHaveLength(3);
  });

  test('a source map is read from the sandboxes\' cache only, checked, and handed on as a host-only copy', () => {
    const a = path.join(project, 'src', 'a.js');
    const goodMap = path.join(cache, 'good.map');
    fs.writeFileSync(goodMap, JSON.stringify({ version: 3, sources: ['a.ts'], mappings: '', file: '/etc/passwd' }));
    const evilMap = path.join(cache, 'evil.map');
    fs.writeFileSync(evilMap, JSON.stringify({ version: 3, sources: ['/etc/passwd'], mappings: '' }));
    const outside = path.join(base, 'outside.map');
    fs.writeFileSync(outside, JSON.stringify({ version: 3, sources: ['a.ts'], mappings: '' }));
    const warnings: string[] = [];
    const out = trustCoverage(undefined, [entry(a, goodMap)], options(warnings));
    const copy = out.v8Coverage?.[0].codeTransformResult?.sourceMapPath as string;
    expect(path.dirname(copy)).toBe(maps);
    expect(JSON.parse(fs.readFileSync(copy, 'utf8'))).toEqual({ version: 3, sources: ['a.ts'], mappings: '' });
    // A folder inside the cache that is a link out of it, and a FIFO (which must not block the host).
    const outsideDir = path.join(base, 'outside-dir');
    fs.mkdirSync(outsideDir);
    fs.copyFileSync(goodMap, path.join(outsideDir, 'good.map'));
    fs.symlinkSync(outsideDir, path.join(cache, 'linked-dir'));
    const fifo = path.join(cache, 'fifo.map');
    execFileSync('mkfifo', [fifo]);
    const bad = [evilMap, outside, path.join(cache, 'missing.map'), path.join(cache, 'linked-dir', 'good.map'), fifo, `${cache}/../outside.map`];
    for (const map of bad) {
      const dropped = trustCoverage(undefined, [entry(a, map)], options(warnings));
      expect(dropped.v8Coverage?.[0].codeTransformResult?.sourceMapPath).toBeNull();
    }
    expect(warnings).toEqual([
      expect.stringContaining('its source "/etc/passwd" lies outside'),
      expect.stringContaining(`it lies outside the sandboxes' cache ${cache}`),
      expect.stringContaining('it does not exist'),
      expect.stringContaining(`it lies outside the sandboxes' cache ${cache}`),
      expect.stringContaining('it is not a regular file'),
      expect.stringContaining(`it lies outside the sandboxes' cache ${cache}`),
    ]);
  });
});

describe('pathTrust', () => {
  test('refuses a path outside the roots by its name, without resolving it on the host', () => {
    const resolved: string[] = [];
    const trust = pathTrust({ roots: [project], hidden: [], realpath: (p) => (resolved.push(p), fs.realpathSync(p)) });
    resolved.length = 0;
    expect(trust.refuse('/net/some-host/share/x.js')).toMatch(/^lies outside the project's roots/);
    expect(trust.refuse(secret)).toMatch(/^lies outside the project's roots/);
    expect(resolved).toEqual([]);
    // Inside by name, it is resolved: a link out of the project is still refused.
    expect(trust.refuse(path.join(project, 'src', 'link.js'))).toMatch(/^lies outside the project's roots/);
    expect(resolved).toEqual([path.join(project, 'src', 'link.js')]);
  });

  test('refuses a file in a folder the sandboxes write, even inside the project', () => {
    const cacheInProject = path.join(project, '.jest-cache');
    fs.mkdirSync(path.join(cacheInProject, 'planted'), { recursive: true });
    fs.writeFileSync(path.join(cacheInProject, 'planted', 'evil.js'), 'module.exports = 1;\n');
    const trust = pathTrust({ roots: [project], hidden: [], written: [cacheInProject] });
    expect(trust.refuse(path.join(cacheInProject, 'planted', 'evil.js'))).toBe("lies in a folder the sandboxes write (Jest's cacheDirectory)");
    expect(trust.refuse(path.join(project, 'src', 'a.js'))).toBeUndefined();
  });
});

describe('trustStack', () => {
  test('drops frames naming files outside the project (file:// ones too), keeps the rest', () => {
    const trust = pathTrust({ roots: [project], hidden: [] });
    const a = path.join(project, 'src', 'a.js');
    const stack = ['Error: x', `    at f (${secret}:1:1)`, `    at g (${a}:2:3)`, `    at file://${secret}:1:1`, '    at h (/usr/lib/node_modules/x/index.js:1:1)', `${secret}:4:4`, '    at node:internal/x:1:1'].join('\n');
    const { text, dropped } = trustStack(stack, trust);
    expect(text.split('\n')).toEqual(['Error: x', `    at g (${a}:2:3)`, '    at h (/usr/lib/node_modules/x/index.js:1:1)', '    at node:internal/x:1:1']);
    expect(dropped).toEqual([secret, secret, secret]);
  });
});
