// The WAT text that slope prints for a wasm module is checked against the
// module's bytes: wabt (the WebAssembly Binary Toolkit, as the npm package
// wabt 1.0.39) assembles the printed text, then disassembles both that binary
// and slope's own bytes. The two disassemblies must be equal, so the text
// shown by `exe.moduleText` and `slope inspect --backend wasm` describes
// exactly the code that runs.

import fc from 'fast-check';
import wabtInit from 'wabt';
import { beforeAll, describe, expect, it } from 'vitest';
import { compile, grad, graph } from '../../src/index.ts';
import type { Node } from '../../src/index.ts';
import { fuzzRuns } from '../support/fuzz.ts';
import { buildCase, graphCaseArbitrary } from './random-graphs.ts';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
const FEATURES = { simd: true, threads: true };

let wabt: Wabt;
beforeAll(async () => {
  wabt = await wabtInit();
});

function disassemble(bytes: Uint8Array): string {
  const module = wabt.readWasm(bytes, FEATURES);
  try {
    return module.toText({});
  } finally {
    module.destroy();
  }
}

function assemble(text: string): Uint8Array {
  const module = wabt.parseWat('module.wat', text, FEATURES);
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

/** Compiles `outputs` on the wasm backend and checks that its printed module assembles to the same code as its bytes. */
function expectRoundTrip(outputs: Node[], simd: boolean): void {
  const exe = compile(outputs, { backend: 'wasm', simd });
  const printed = exe.moduleText!;
  const bytes = exe.moduleBytes!;
  expect(disassemble(assemble(printed))).toBe(disassemble(bytes));
}

function convTrainingStep(dtype: 'float32' | 'float64'): Node[] {
  const g = graph();
  const x = g.input('x', [2, 7, 5, 3], dtype);
  const w = g.param('w', [3, 3, 3, 6], { init: 'heNormal', seed: 1, dtype });
  const b = g.param('b', [6], { dtype });
  const y = x.conv2d(w, { padding: 'same', bias: b, activation: (h) => h.leakyRelu(0.2) }).maxPool2d({ poolSize: 2 });
  const loss = y.sum();
  return [loss, ...grad(loss, [x, w, b])];
}

function mlpTrainingStep(dtype: 'float32' | 'float64' = 'float32'): Node[] {
  const g = graph();
  const x = g.input('x', [5, 13], dtype);
  const labels = g.input('labels', [5], 'int32');
  const w = g.param('w', [13, 7], { init: 'heNormal', seed: 2, dtype });
  const b = g.param('b', [7], { dtype });
  const logits = x.matmul(w, { bias: b, activation: (h) => h.elu() });
  const loss = g.softmaxCrossEntropy(logits, labels).mean();
  const predicted = logits.argmax(1);
  return [loss, predicted, logits.greater(0), ...grad(loss, [w, b])];
}

describe('printed WAT against the module bytes', () => {
  for (const simd of [true, false]) {
    it(`round-trips a conv training step in float32 and float64 (simd ${simd})`, () => {
      expectRoundTrip(convTrainingStep('float32'), simd);
      expectRoundTrip(convTrainingStep('float64'), simd);
    });

    it(`round-trips an MLP training step with int32 and bool outputs (simd ${simd})`, () => {
      expectRoundTrip(mlpTrainingStep(), simd);
    });

    it(`round-trips a float64 MLP training step (simd ${simd})`, () => {
      const outputs = mlpTrainingStep('float64');
      expectRoundTrip(outputs, simd);
      if (simd) {
        // The elu epilogue of the float64 tile calls Math.expm1 lane by lane.
        const text = compile(outputs, { backend: 'wasm' }).moduleText!;
        expect(text).toContain('v128.load64_splat');
        expect(text).toContain('f64x2.extract_lane 1');
      }
    });
  }

  it('round-trips random graphs', () => {
    fc.assert(fc.property(graphCaseArbitrary('float32'), fc.boolean(), (c, simd) => {
      expectRoundTrip(buildCase(c).outputs, simd);
    }), { numRuns: fuzzRuns(20) });
  }, 60_000);
});
