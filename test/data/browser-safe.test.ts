// The browser build imports src/data/index.ts, so no file it reaches may
// import a Node module. Only node-fs.ts may.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DATA_DIR = join(import.meta.dirname, '../../src/data');
const NODE_ONLY = new Set(['node-fs.ts']);

function importSpecifiers(source: string): string[] {
  const pattern = /(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
  return [...source.matchAll(pattern)].map((match) => match[1] ?? match[2]!);
}

describe('data module browser safety', () => {
  const files = readdirSync(DATA_DIR).filter((name) => name.endsWith('.ts') && !NODE_ONLY.has(name));

  it('finds the browser-safe files', () => {
    expect(files).toContain('index.ts');
    expect(files).toContain('idx.ts');
    expect(files).toContain('mnist.ts');
  });

  it.each(files)('%s imports only relative modules', (name) => {
    const specifiers = importSpecifiers(readFileSync(join(DATA_DIR, name), 'utf8'));

    for (const specifier of specifiers) {
      expect(specifier, `${name} imports ${specifier}`).toMatch(/^\.\.?\//);
      expect(specifier, `${name} imports ${specifier}`).not.toMatch(/node-fs/);
    }
  });
});
