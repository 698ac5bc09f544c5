// Outputs and params come back as arrays the caller owns, in ordinary memory,
// also when worker threads put the executable's memory in a
// SharedArrayBuffer. Large ones are copied out in chunks.

import { describe, expect, it } from 'vitest';
import { compile, graph } from '../../src/index.ts';

describe('copies out of an executable', () => {
  it('are ordinary arrays equal to the buffer, for every dtype', async () => {
    const n = 3 * 65536 + 7;
    const g = graph();
    const x = g.input('x', [n]);
    const w = g.param('w', [n], { init: 'ones' });
    const outputs = [x.mul(w).add(1), x.greater(0), x.cast('int32'), x.cast('float64')];
    const exe = compile(outputs, { backend: 'wasm', threads: 2, threadThreshold: 1 });
    await exe.ready();
    expect(exe.activeThreads).toBe(2);
    const values = Float32Array.from({ length: n }, (_, i) => (i % 13) - 6);
    const [sum, positive, integers, wide] = exe.run({ x: values });
    for (const out of [sum!, positive!, integers!, wide!]) {
      expect(out.buffer instanceof SharedArrayBuffer).toBe(false);
      expect(out.length).toBe(n);
    }
    for (const i of [0, 65535, 65536, 131073, n - 1]) {
      expect(sum![i]).toBe(values[i]! + 1);
      expect(positive![i]).toBe(values[i]! > 0 ? 1 : 0);
      expect(integers![i]).toBe(values[i]);
      expect(wide![i]).toBe(values[i]);
    }
    const param = exe.getParam('w');
    expect(param.buffer instanceof SharedArrayBuffer).toBe(false);
    expect(param[n - 1]).toBe(1);
    exe.dispose();
  });
});
