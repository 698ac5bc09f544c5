import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { inspectCommand } from '../../src/cli/inspect.ts';

const example = fileURLToPath(new URL('../../examples/conv-leaky.ts', import.meta.url));

async function capture(argv: string[]): Promise<{ code: number; text: string }> {
  let text = '';
  const code = await inspectCommand(argv, (t) => (text += t));
  return { code, text };
}

describe('slope inspect', () => {
  it('prints the fused kernel and its gradient kernels', async () => {
    const { code, text } = await capture([example]);
    expect(code).toBe(0);
    expect(text).toContain('function k0_conv2d(');
    expect(text).toContain('// k0_conv2d: conv2d + add + leakyRelu + leakyReluGrad');
    expect(text).toContain('function k2_conv2dBackpropInput(');
    expect(text).toContain('function k3_conv2dBackpropFilter(');
    expect(text).toContain('kernels: 4 (8 without fusion)');
  });

  it('prints the graph after a pass', async () => {
    const { text } = await capture([example, '--after', 'simplify', '--after', 'fuse']);
    expect(text).toContain('== after simplify');
    expect(text).toMatch(/%\d+:f32\[2,8,8,4\] = conv2d %0 %1 strides=\[1,1\] padding=same dilations=\[1,1\]/);
    expect(text).toContain('== after fuse');
    expect(text).toContain('group 0: %');
  });

  it('prints one JSON object with --json', async () => {
    const { text } = await capture([example, '--json']);
    const result = JSON.parse(text) as { kernels: { name: string; backend: string; nodes: number[]; source: string }[]; passes: { name: string }[] };
    expect(result.kernels).toHaveLength(4);
    expect(result.kernels[0]!.backend).toBe('js');
    expect(result.kernels[0]!.nodes.length).toBe(4);
    expect(result.kernels[0]!.source).toContain('function k0_conv2d(');
    expect(result.passes.map((p) => p.name)).toEqual(['simplify', 'fuse', 'lower', 'plan-memory']);
  });

  it('rejects an unknown pass and a missing file', async () => {
    await expect(capture([example, '--after', 'nope'])).rejects.toThrow(/unknown pass "nope" for --after; passes are simplify, fuse, lower, plan-memory/);
    await expect(capture(['/nonexistent/graph.ts'])).rejects.toThrow(/file not found: \/nonexistent\/graph.ts/);
  });
});

describe('slope inspect options', () => {
  it('rejects an option without a value', async () => {
    await expect(capture([example, '--backend'])).rejects.toThrow("Error in inspect: --backend needs a value. Run 'slope inspect --help' for the options.");
    await expect(capture([example, '--after'])).rejects.toThrow("Error in inspect: --after needs a value. Run 'slope inspect --help' for the options.");
  });

  it('rejects an unknown option', async () => {
    await expect(capture([example, '--fuse'])).rejects.toThrow("Error in inspect: unknown option --fuse. Run 'slope inspect --help' for the options.");
  });

  it('rejects an invalid batch size', async () => {
    await expect(capture([example, '--batch-size', '0'])).rejects.toThrow('Error in inspect: --batch-size must be an integer of at least 1, got "0"');
  });
});

describe('slope inspect on a dead-units model', () => {
  const cnn = fileURLToPath(new URL('../../examples/train-cnn.ts', import.meta.url));

  it('passes a batch size of 1 by default', async () => {
    const { code, text } = await capture([cnn, '--after', 'simplify']);
    expect(code).toBe(0);
    expect(text).toMatch(/^%0:f32\[1,28,28,1\] = input /m);
    expect(text).toContain('matmul + add + relu');
  });

  it('passes --batch-size to the model', async () => {
    const { text } = await capture([cnn, '--after', 'simplify', '--batch-size', '3']);
    expect(text).toMatch(/^%0:f32\[3,28,28,1\] = input /m);
  });
});

describe('slope inspect --backend wasm', () => {
  it('prints each kernel in the WebAssembly text format', async () => {
    let text = '';
    const code = await inspectCommand([example, '--backend', 'wasm'], (t) => (text += t));
    expect(code).toBe(0);
    expect(text).toContain('== kernels (wasm)');
    expect(text).toContain(';; k0_conv2d: conv2d + add + leakyRelu + leakyReluGrad');
    expect(text).toContain('(func $k0_conv2d (export "k0_conv2d")');
  });
});

describe('slope inspect module errors', () => {
  it('name a module that fails to load', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const directory = mkdtempSync(join(tmpdir(), 'slope-inspect-'));
    const file = join(directory, 'broken.mjs');
    writeFileSync(file, 'export default ) (;\n');
    try {
      await expect(inspectCommand([file], () => {})).rejects.toThrow(/Error in inspect: loading .*broken\.mjs failed/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
