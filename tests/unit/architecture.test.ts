/** The floors of the house and what may import what (docs/architecture.md), checked over every import in the sources. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Floor → the floors of the project its modules may import (besides npm packages and Node's own). */
const MAY_IMPORT: Record<string, string[]> = {
  functions: ['functions'],
  util: ['util'],
  local: ['local', 'functions', 'util'],
  cli: ['cli', 'local', 'functions', 'util'],
};

function sourcesOf(floor: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|js)$/.test(entry.name)) files.push(full);
    }
  };
  walk(path.join(ROOT, floor));
  return files;
}

/** The repository floor a relative import lands in, or undefined for a package or a Node module. */
function floorOf(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return path.relative(ROOT, path.resolve(path.dirname(file), specifier)).split(path.sep)[0];
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

describe.each(Object.entries(MAY_IMPORT))('%s/', (floor, allowed) => {
  it(`imports only ${allowed.join(', ')} of the project`, () => {
    const files = sourcesOf(floor);
    expect(files.length).toBeGreaterThan(0);
    const offending = files.flatMap((file) =>
      importsOf(file)
        .filter((specifier) => {
          const target = floorOf(file, specifier);
          return target !== undefined && !allowed.includes(target);
        })
        .map((specifier) => `${path.relative(ROOT, file)} imports ${specifier}`),
    );
    expect(offending).toEqual([]);
  });
});

it('util/ uses nothing but Node itself', () => {
  const packages = sourcesOf('util').flatMap((file) => importsOf(file).filter((s) => !s.startsWith('.') && !s.startsWith('node:')));
  expect(packages).toEqual([]);
});
