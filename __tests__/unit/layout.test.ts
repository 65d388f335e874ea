// The folders under src/ say which process runs their code; imports may only
// run down this table. A module that runs inside the sandbox must never pull
// in code of Jest's process (or the other way round), and native/ and
// shared/ depend on nothing above them.
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(__dirname, '../../src');

/** Folder → the folders its modules may import from (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  native: [],
  shared: [],
  options: ['shared'],
  inside: ['shared', 'native'],
  host: ['shared', 'options'],
  cli: ['host', 'options', 'shared', 'native'],
  // The package entry: the environment and the test-side API.
  '.': ['inside', 'shared'],
};

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const p = path.join(dir, entry.name);
    return entry.isDirectory() ? sources(p) : entry.name.endsWith('.ts') ? [p] : [];
  });
}

function folderOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  return rel.length === 1 ? '.' : rel[0];
}

const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => path.resolve(path.dirname(file), m[1]));
}

test('every top-level folder of src/ is in the table', () => {
  const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  expect(folders).toEqual(Object.keys(MAY_IMPORT).filter((f) => f !== '.').sort());
});

test('every folder has a README that says what runs it and what may import it', () => {
  for (const folder of Object.keys(MAY_IMPORT).filter((f) => f !== '.')) {
    expect(fs.existsSync(path.join(SRC, folder, 'README.md'))).toBe(true);
  }
});

test('no import runs back up the table', () => {
  const wrong: string[] = [];
  for (const file of sources(SRC)) {
    const from = folderOf(file);
    for (const target of importsOf(file)) {
      const to = folderOf(target);
      if (to !== from && !MAY_IMPORT[from].includes(to)) wrong.push(`${path.relative(SRC, file)} imports ${path.relative(SRC, target)} (${from} may import ${MAY_IMPORT[from].join(', ') || 'nothing outside itself'})`);
    }
  }
  expect(wrong).toEqual([]);
});

test('the check sees imports at all', () => {
  // A regex that matched nothing would pass every layout.
  expect(importsOf(path.join(SRC, 'cli', 'main.ts')).length).toBeGreaterThan(3);
});
