// The benchmark's own machinery: data, layouts, the agreement check, ratios,
// the report formats, the command line and the ONNX writer.

import { describe, expect, it } from 'vitest';

import { UsageError, parseArgs } from '../../bench/cli.ts';
import type { Row } from '../../bench/harness.ts';
import { computeRatios } from '../../bench/harness.ts';
import { hwioToOihw, nchwToNhwc, nhwcToNchw, oihwToHwio } from '../../bench/layout.ts';
import { maxRelativeDifference, median } from '../../bench/measure.ts';
import { Random } from '../../bench/random.ts';
import { formatRatioTable, markdownTable, toJson } from '../../bench/report.ts';
import { encodeOnnxModel } from '../../bench/systems/onnx-model.ts';
import { WORKLOADS } from '../../bench/workloads.ts';

function row(system: string, group: string, medianMs: number | null, status: Row['status'] = 'ok'): Row {
  return { system, group, status, medianMs, timesMs: [], throughput: null, maxRelDiff: null, memory: null, note: '' };
}

describe('Random', () => {
  it('repeats a sequence for a seed', () => {
    expect(Array.from(new Random(5).uniform(8))).toEqual(Array.from(new Random(5).uniform(8)));
  });

  it('draws uniform values in [-1, 1)', () => {
    const values = new Random(9).uniform(10_000);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(Math.min(...values)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(Math.abs(mean)).toBeLessThan(0.05);
  });
});

describe('layout', () => {
  it('round-trips NHWC through NCHW', () => {
    const data = new Random(1).uniform(2 * 3 * 4 * 5);
    const nchw = nhwcToNchw(data, [2, 3, 4, 5]);
    // Element (n=1, h=2, w=3, c=4) of NHWC is element (1, 4, 2, 3) of NCHW.
    expect(nchw[((1 * 5 + 4) * 3 + 2) * 4 + 3]).toBe(data[((1 * 3 + 2) * 4 + 3) * 5 + 4]);
    expect(Array.from(nchwToNhwc(nchw, [2, 5, 3, 4]))).toEqual(Array.from(data));
  });

  it('round-trips HWIO through OIHW', () => {
    const data = new Random(2).uniform(3 * 3 * 4 * 6);
    const oihw = hwioToOihw(data, [3, 3, 4, 6]);
    // Element (kh=1, kw=2, i=3, o=5) of HWIO is element (5, 3, 1, 2) of OIHW.
    expect(oihw[((5 * 4 + 3) * 3 + 1) * 3 + 2]).toBe(data[((1 * 3 + 2) * 4 + 3) * 6 + 5]);
    expect(Array.from(oihwToHwio(oihw, [6, 4, 3, 3]))).toEqual(Array.from(data));
  });
});

describe('agreement check', () => {
  it('scales differences by the largest reference value', () => {
    const difference = maxRelativeDifference([Float32Array.of(10, 0.5)], [Float32Array.of(10, 0)]);
    expect(difference).toBeCloseTo(0.05, 6);
  });

  it('reports NaN and length mismatches as Infinity', () => {
    expect(maxRelativeDifference([Float32Array.of(NaN)], [Float32Array.of(1)])).toBe(Infinity);
    expect(maxRelativeDifference([Float32Array.of(1, 2)], [Float32Array.of(1)])).toBe(Infinity);
    expect(maxRelativeDifference([], [Float32Array.of(1)])).toBe(Infinity);
  });

  it('compares W4 parameter updates, not parameters', () => {
    const inputs = WORKLOADS.W4.makeInputs(1);
    const params = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'].map((name) => inputs[name].data.slice());
    params[1][0] += 0.25;
    const view = WORKLOADS.W4.checkView!([Float32Array.of(2.3), ...params], inputs);
    expect(view[0][0]).toBeCloseTo(2.3, 6);
    expect(view[2][0]).toBeCloseTo(0.25, 6);
    expect(view[2][1]).toBe(0);
  });

  it('takes the median of odd and even counts', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('computeRatios', () => {
  it('divides the fastest slope row by each peer group', () => {
    const ratios = computeRatios([
      row('slope-js', 'slope', 8),
      row('slope-wasm', 'slope', 4),
      row('jax-js-jit', 'jax-js', 10),
      row('jax-js-eager', 'jax-js', 5),
      row('tfjs-cpu', 'tfjs-cpu', 40),
    ]);
    expect(ratios).toEqual({ 'jax-js': 0.8, 'tfjs-cpu': 0.1 });
  });

  it('leaves out rows that failed or disagreed', () => {
    const ratios = computeRatios([
      row('slope', 'slope', 4),
      row('tfjs-wasm', 'tfjs-wasm', null, 'failed'),
      row('jax-js-jit', 'jax-js', 1, 'mismatch'),
      row('jax-js-eager', 'jax-js', 8),
    ]);
    expect(ratios).toEqual({ 'tfjs-wasm': null, 'jax-js': 0.5 });
  });

  it('has no ratios without a slope time', () => {
    const ratios = computeRatios([row('slope', 'slope', null, 'unavailable'), row('js-loop', 'js-loop', 3)]);
    expect(ratios).toEqual({ 'js-loop': null });
  });
});

describe('report', () => {
  it('aligns Markdown columns', () => {
    const table = markdownTable(['name', 'ms'], [['a', '1.5'], ['long name', '10']], 'lr');
    expect(table).toBe(
      ['| name      |  ms |', '|-----------|----:|', '| a         | 1.5 |', '| long name |  10 |'].join('\n'),
    );
  });

  it('prints one ratio column per peer group', () => {
    const result = { workload: WORKLOADS.W1, rows: [], ratios: { 'tfjs-wasm': 0.5, 'jax-js': null } };
    const lines = formatRatioTable([result]).split('\n');
    expect(lines[0]).toContain('tfjs-wasm');
    expect(lines[0]).toContain('jax-js');
    expect(lines[2]).toContain('0.50');
  });

  it('keeps the JSON fields', () => {
    const machine = { cpu: 'test cpu', cores: 2, node: 'v20' };
    const rows = [{ ...row('tfjs-wasm', 'tfjs-wasm', 10), throughput: 26.8 }];
    const json = toJson([{ workload: WORKLOADS.W1, rows, ratios: { 'tfjs-wasm': null } }], machine);
    expect(json.machine).toEqual(machine);
    expect(json.workloads[0].id).toBe('W1');
    expect(json.workloads[0].results[0]).toMatchObject({ system: 'tfjs-wasm', medianMs: 10, gflops: 26.8 });
    expect(json.workloads[0].ratios).toEqual({ 'tfjs-wasm': null });
  });
});

describe('parseArgs', () => {
  it('uses the protocol defaults', () => {
    const options = parseArgs([]);
    expect(options.runs).toBe(10);
    expect(options.warmup).toBe(3);
    expect(options.workloads).toEqual(['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7']);
  });

  it('reads --only, --runs and --json', () => {
    const options = parseArgs(['--only', 'w2,W1', '--runs=12', '--json']);
    expect(options.workloads).toEqual(['W1', 'W2']);
    expect(options.runs).toBe(12);
    expect(options.json).toBe(true);
  });

  it('rejects unknown workloads and counts', () => {
    expect(() => parseArgs(['--only', 'W9'])).toThrow(UsageError);
    expect(() => parseArgs(['--runs', '0'])).toThrow(UsageError);
    expect(() => parseArgs(['--frobnicate'])).toThrow(UsageError);
  });
});

describe('encodeOnnxModel', () => {
  const model = encodeOnnxModel({
    name: 'g',
    opset: 17,
    nodes: [{ opType: 'Conv', inputs: ['x'], outputs: ['y'], attributes: [{ name: 'k', ints: [300] }] }],
    inputs: [{ name: 'x', shape: [2] }],
    outputs: [{ name: 'y', shape: [2] }],
  });
  const text = new TextDecoder('latin1').decode(model);

  it('starts with the IR version field', () => {
    // Field 1, varint wire type: tag byte 0x08, then the value 8.
    expect(Array.from(model.subarray(0, 2))).toEqual([0x08, 0x08]);
  });

  it('writes multi-byte varints', () => {
    // 300 as a varint is 0xac 0x02; it follows the INTS tag (field 8, varint: 0x40).
    expect(text).toContain('\x40\xac\x02');
  });

  it('contains the op and producer names', () => {
    expect(text).toContain('Conv');
    expect(text).toContain('slope-bench');
  });
});
