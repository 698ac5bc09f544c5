// slope's entry point must bundle for a browser: no module that a browser
// build reaches may import a Node built-in (fs, events, readline, ...).
// Node-only code is loaded on demand through specifiers that bundlers leave
// alone, and esbuild fails the build on any Node built-in it would have to
// bundle for the 'browser' platform.

import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../../src/index.ts', import.meta.url));

describe('browser bundle', () => {
  it('bundles src/index.ts without Node built-ins', async () => {
    const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).toContain('function compile(');
    expect(code).not.toMatch(/require\(["'](events|readline|fs|node:fs)["']\)/);
  }, 30_000);
});
