// Field cases: small computations that some framework once got wrong. Each
// test reads its case file at run time and builds the computation with
// slope's ops in float64. It checks every expected value and gradient against
// the tolerance the file gives. It also checks that the known wrong outputs
// the file lists (diagnostic values, other frameworks' conventions) fail.

import { describe, expect, test } from 'vitest';
import { grad } from '../../passes/grad.ts';
import { Graph } from '../../src/graph/graph.ts';
import type { Node } from '../../src/graph/node.ts';
import type { Evaluator } from '../support/backends.ts';
import { EVALUATORS } from '../support/backends.ts';
import type { Tensor } from '../../src/interp/tensor.ts';
import type { CaseTensor, FieldCase } from '../support/fieldCases.ts';
import { caseNumber, caseTolerance, expectedTensor, inputTensor, loadCase, toTensor } from '../support/fieldCases.ts';
import { centralDifference } from '../support/finiteDifference.ts';
import type { Tolerance } from '../support/tolerance.ts';
import { allClose, expectAllClose } from '../support/tolerance.ts';

function readCase(id: string): FieldCase {
  return loadCase(new URL(`../../../shared/cases/${id}.json`, import.meta.url));
}

/** Adds a float64 input fed with a case tensor's values. */
function caseInput(graph: Graph, feeds: Record<string, Float64Array>, name: string, tensor: CaseTensor): Node {
  feeds[name] = tensor.values;
  return graph.input(name, tensor.shape, 'float64');
}

function expectTensor(actual: Tensor, expected: CaseTensor, tolerance: Tolerance, label: string): void {
  expect(actual.shape, `${label}: shape`).toEqual(expected.shape);
  expectAllClose(actual.data, expected.values, tolerance, label);
}

function expectRejected(wrong: ArrayLike<number>, expected: CaseTensor, tolerance: Tolerance, label: string): void {
  expect(allClose(wrong, expected.values, tolerance), `${label} must fail the tolerance`).toBe(false);
}

/** Defines every case suite on one evaluator: the interpreter or a compiled backend. */
function caseSuites(evaluate: Evaluator): void {
  describe('relu gradient at an exact zero', () => {
    // The fault: relu'(x) = 1 for x >= 0 lets the whole gradient through at
    // exact zeros (zero biases, padding, outputs of an earlier relu).
    const data = readCase('c01');
    const tolerance = caseTolerance(data);

    test('value and gradient match', () => {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const x = caseInput(graph, feeds, 'x', inputTensor(data, 'x'));
      const w = caseInput(graph, feeds, 'w', inputTensor(data, 'w'));
      const y = x.relu();
      const [dx] = grad(y.mul(w).sum(), [x]);
      const [yValue, dxValue] = evaluate([y, dx!], feeds);

      expectTensor(yValue!, expectedTensor(data, 'y'), tolerance, 'relu(x)');
      expectTensor(dxValue!, expectedTensor(data, 'grad_x'), tolerance, 'd sum(relu(x) w) / dx');
    });

    test('gradient 1 at zero fails', () => {
      const x = inputTensor(data, 'x').values;
      const w = inputTensor(data, 'w').values;
      const conventions = data.expected['conventions'] as { relu_grad_at_0: { buggy_reported: number } };
      const slopeAtZero = conventions.relu_grad_at_0.buggy_reported;
      // The reported rule passes gradient for x >= 0, so -0 and +0 included.
      const wrong = Array.from(x, (v, i) => {
        if (v > 0) return w[i]!;
        if (v === 0) return slopeAtZero * w[i]!;
        return 0;
      });
      expectRejected(wrong, expectedTensor(data, 'grad_x'), tolerance, 'gradient with relu\'(0) = 1');
    });
  });

  describe('maximum and minimum ties', () => {
    // The fault: giving the whole gradient of a tie to the first operand, and
    // relu inheriting the tie split when written as maximum(x, 0).
    const data = readCase('c02');
    const tolerance = caseTolerance(data);

    function build() {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const a = caseInput(graph, feeds, 'a', inputTensor(data, 'a'));
      const b = caseInput(graph, feeds, 'b', inputTensor(data, 'b'));
      const w = caseInput(graph, feeds, 'w', inputTensor(data, 'w'));
      const xRelu = caseInput(graph, feeds, 'x_relu', inputTensor(data, 'x_relu'));
      const maximum = a.maximum(b);
      const minimum = a.minimum(b);
      const [daMax, dbMax] = grad(maximum.mul(w).sum(), [a, b]);
      const [daMin, dbMin] = grad(minimum.mul(w).sum(), [a, b]);
      const [dxSplit] = grad(xRelu.maximum(graph.constant(0, [], 'float64')).sum(), [xRelu]);
      const [dxRelu] = grad(xRelu.relu().sum(), [xRelu]);
      const outputs = { maximum, minimum, grad_maximum_a: daMax!, grad_maximum_b: dbMax!, grad_minimum_a: daMin!, grad_minimum_b: dbMin!, grad_maximum_x_0_split: dxSplit!, grad_relu_primitive: dxRelu! };
      const keys = Object.keys(outputs) as (keyof typeof outputs)[];
      const tensors = evaluate(keys.map((k) => outputs[k]), feeds);
      return Object.fromEntries(keys.map((k, i) => [k, tensors[i]!])) as Record<keyof typeof outputs, Tensor>;
    }

    test('values and split gradients match', () => {
      const results = build();
      for (const [key, value] of Object.entries(results)) expectTensor(value, expectedTensor(data, key), tolerance, key);
    });

    test('first-operand-wins gradients fail', () => {
      const results = build();
      const firstWins = (data.expected['conventions'] as Record<string, Record<string, unknown>>)['first_operand_wins_TF_tfjs']!;
      for (const key of ['grad_maximum_a', 'grad_maximum_b', 'grad_minimum_a', 'grad_minimum_b']) {
        const wrong = toTensor(data, firstWins[key], `conventions.first_operand_wins_TF_tfjs.${key}`);
        expectRejected(wrong.values, expectedTensor(data, key), tolerance, `first-operand ${key}`);
        expectRejected(wrong.values, { ...expectedTensor(data, key), values: results[key as keyof typeof results].data }, tolerance, `slope's ${key} against the first-operand convention`);
      }
      const wrongSplit = toTensor(data, firstWins['grad_maximum_x_0'], 'conventions.first_operand_wins_TF_tfjs.grad_maximum_x_0');
      expectRejected(wrongSplit.values, expectedTensor(data, 'grad_maximum_x_0_split'), tolerance, 'first-operand maximum(x, 0)');
    });

    test('relu does not inherit the split', () => {
      const results = build();
      expectRejected(results.grad_relu_primitive.data, expectedTensor(data, 'grad_maximum_x_0_split'), tolerance, 'relu gradient against the split of maximum(x, 0)');
    });
  });

  describe('leakyRelu gradient at its kink', () => {
    // The fault guarded: a gradient check that samples on the kink. The rule
    // gives alpha at 0, and a central difference across 0 averages the slopes.
    const data = readCase('c03');
    const tolerance = caseTolerance(data);
    const alpha = caseNumber(data, 'inputs', 'alpha');

    function gradient(values: Float64Array): Tensor[] {
      const graph = new Graph();
      const x = graph.input('x', [values.length], 'float64');
      const y = x.leakyRelu(alpha);
      const [dx] = grad(y.sum(), [x]);
      return evaluate([y, dx!], { x: values });
    }

    test('value and gradient match', () => {
      const [y, dx] = gradient(inputTensor(data, 'x').values);
      expectTensor(y!, expectedTensor(data, 'y'), tolerance, 'leakyRelu(x)');
      expectTensor(dx!, expectedTensor(data, 'grad_x'), tolerance, 'd sum(leakyRelu(x)) / dx');
    });

    test('other conventions at 0 fail', () => {
      const conventions = data.expected['conventions'] as Record<string, unknown>;
      const expected = expectedTensor(data, 'grad_x');
      const jax = toTensor(data, conventions['grad_x_JAX_where_x_ge_0'], 'conventions.grad_x_JAX_where_x_ge_0');
      expectRejected(jax.values, expected, tolerance, 'gradient 1 at 0');

      const straddling = caseNumber({ ...data, expected: conventions }, 'expected', 'central_difference_at_0_h_1e-3');
      const x = inputTensor(data, 'x').values;
      expectRejected(Array.from(x, (v, i) => (v === 0 ? straddling : expected.values[i]!)), expected, tolerance, 'central difference at 0');
    });

    test('difference across the kink is not the gradient', () => {
      const sum = (point: Float64Array) => evaluate([new Graph().input('x', [1], 'float64').leakyRelu(alpha).sum()], { x: point })[0]!.data[0]!;
      const [numeric] = centralDifference(sum, Float64Array.of(0), 1e-3);
      const conventions = data.expected['conventions'] as Record<string, number>;
      expect(numeric).toBeCloseTo(conventions['central_difference_at_0_h_1e-3']!, 12);
      expect(gradient(Float64Array.of(0))[1]!.data[0]).toBe(alpha);
    });
  });

  describe('leakyRelu with edge alphas', () => {
    // The fault: leakyRelu computed as maximum(alpha x, x), which swaps the
    // branches for alpha > 1, and a slope of exactly 0 not honoured.
    const data = readCase('c04');
    const tolerance = caseTolerance(data);
    const alphas = (data.inputs['alphas'] as number[]).map(Number);
    const keyOf = (alpha: number) => String(alpha).replace('-', 'm').replace('.', 'p');

    function leaky(alpha: number): { y: Tensor; dx: Tensor; reluY: Tensor; reluDx: Tensor } {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const x = caseInput(graph, feeds, 'x', inputTensor(data, 'x'));
      const y = x.leakyRelu(alpha);
      const relu = x.relu();
      const [dx] = grad(y.sum(), [x]);
      const [reluDx] = grad(relu.sum(), [x]);
      const [yValue, dxValue, reluY, reluDxValue] = evaluate([y, dx!, relu, reluDx!], feeds);
      return { y: yValue!, dx: dxValue!, reluY: reluY!, reluDx: reluDxValue! };
    }

    for (const alpha of alphas) {
      test(`alpha ${alpha} matches`, () => {
        const { y, dx } = leaky(alpha);
        expectTensor(y, expectedTensor(data, `y_alpha_${keyOf(alpha)}`), tolerance, `leakyRelu(x, ${alpha})`);
        expectTensor(dx, expectedTensor(data, `grad_alpha_${keyOf(alpha)}`), tolerance, `d leakyRelu(x, ${alpha}) / dx`);
      });
    }

    test('alpha 0 equals relu', () => {
      const { y, dx, reluY, reluDx } = leaky(0);
      expect(Array.from(y.data, (v) => v + 0)).toEqual(Array.from(reluY.data, (v) => v + 0));
      expect(Array.from(dx.data)).toEqual(Array.from(reluDx.data));
    });

    test('maximum formulation for alpha 2 fails', () => {
      const diagnostic = data.expected['diagnostic_wrong_max_formulation_alpha_2'] as { y: unknown; grad: unknown };
      const wrongY = toTensor(data, diagnostic.y, 'diagnostic y');
      const wrongGrad = toTensor(data, diagnostic.grad, 'diagnostic grad');
      expectRejected(wrongY.values, expectedTensor(data, 'y_alpha_2'), tolerance, 'maximum(2x, x)');
      expectRejected(wrongGrad.values, expectedTensor(data, 'grad_alpha_2'), tolerance, 'gradient of maximum(2x, x)');

      // maximum(2x, x) built from slope's ops reproduces the wrong value, so the
      // rejected numbers are the ones that formulation really gives.
      const graph = new Graph();
      const x = graph.input('x', [6], 'float64');
      const [y] = evaluate([x.mul(2).maximum(x)], { x: inputTensor(data, 'x').values });
      expectAllClose(y!.data, wrongY.values, tolerance, 'maximum(2x, x) against the diagnostic value');
    });
  });

  describe('elu gradient for very negative inputs', () => {
    // The fault: elu'(x) computed from the output as y + alpha, which is 0
    // once exp(x) - 1 rounds to -1 although exp(x) is still representable.
    const data = readCase('c08');

    function eluGradient(values: Float64Array, alpha: number): Tensor {
      const graph = new Graph();
      const x = graph.input('x', [values.length], 'float64');
      const [dx] = grad(x.elu(alpha).sum(), [x]);
      return evaluate([dx!], { x: values })[0]!;
    }

    test('gradient from float32 inputs matches', () => {
      const dx = eluGradient(inputTensor(data, 'x_f32').values, 1);
      expectTensor(dx, expectedTensor(data, 'grad_f32'), caseTolerance(data, 'grad_f32'), 'elu gradient at float32 inputs');
    });

    test('gradient from float64 inputs matches', () => {
      const dx = eluGradient(inputTensor(data, 'x_f64').values, 1);
      expectTensor(dx, expectedTensor(data, 'grad_f64'), caseTolerance(data, 'grad_f64'), 'elu gradient at float64 inputs');
    });

    test('gradient with alpha 14.5 is alpha at 0', () => {
      const alpha = caseNumber(data, 'inputs', 'alpha_big');
      const dx = eluGradient(inputTensor(data, 'x_alpha_big').values, alpha);
      expectTensor(dx, expectedTensor(data, 'grad_alpha_big'), caseTolerance(data, 'grad_alpha_big'), 'elu gradient, alpha 14.5');
    });

    test('gradient computed as y + 1 fails', () => {
      const diagnostic = expectedTensor(data, 'diagnostic_float32_grad_computed_as_y_plus_1');
      expectRejected(diagnostic.values, expectedTensor(data, 'grad_f32'), caseTolerance(data, 'grad_f32'), 'float32 y + 1');

      // The same shortcut in float64, built from slope's ops, gives 0 at -40.
      const graph = new Graph();
      const x = graph.input('x', [2], 'float64');
      const [shortcut] = evaluate([x.elu(1).add(1)], { x: inputTensor(data, 'x_f64').values });
      expect(shortcut!.data[0]).toBe(0);
      expectRejected(shortcut!.data, expectedTensor(data, 'grad_f64'), caseTolerance(data, 'grad_f64'), 'float64 y + 1');
    });

    test('right derivative and difference at 0 fail', () => {
      const conventions = (data.expected['conventions'] as Record<string, Record<string, number>>)['elu_grad_at_0_with_alpha']!;
      const expected = expectedTensor(data, 'grad_alpha_big');
      const tolerance = caseTolerance(data, 'grad_alpha_big');
      for (const key of ['right_derivative', 'central_difference']) {
        expectRejected([conventions[key]!, ...expected.values.subarray(1)], expected, tolerance, `${key} at 0`);
      }
    });
  });

  describe('NaN and infinities through the relu family', () => {
    // The fault: relu mapping NaN to 0 (and a gradient of 0 or 1 at NaN),
    // which hides an upstream numerical fault.
    const data = readCase('c09');
    const tolerance = caseTolerance(data);

    function build() {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const x = caseInput(graph, feeds, 'x', inputTensor(data, 'x'));
      const relu = x.relu();
      const leaky = x.leakyRelu(0.2);
      const elu = x.elu(1);
      const sumRelu = relu.sum();
      const [dRelu] = grad(sumRelu, [x]);
      const [dLeaky] = grad(leaky.sum(), [x]);
      const [r, l, e, s, gr, gl] = evaluate([relu, leaky, elu, sumRelu, dRelu!, dLeaky!], feeds);
      return { relu: r!, leaky_relu_0p2: l!, elu: e!, sum_relu: s!, grad_relu: gr!, grad_leaky_relu_0p2: gl! };
    }

    test('values and gradients match', () => {
      const results = build();
      for (const key of ['relu', 'leaky_relu_0p2', 'elu', 'grad_relu', 'grad_leaky_relu_0p2'] as const) {
        expectTensor(results[key], expectedTensor(data, key), tolerance, key);
      }
      expect(results.sum_relu.data[0]).toBeNaN();
      expect(caseNumber(data, 'expected', 'sum_relu')).toBeNaN();
    });

    test('gradient 0 or 1 at NaN fails', () => {
      const nanPositions = data.expected['nan_positions'] as number[];
      const expected = expectedTensor(data, 'grad_relu');
      for (const replacement of [0, 1]) {
        const wrong = Float64Array.from(expected.values);
        for (const i of nanPositions) wrong[i] = replacement;
        expectRejected(wrong, expected, tolerance, `relu gradient ${replacement} at NaN`);
      }
    });

    test('relu of NaN as 0 fails', () => {
      const expected = expectedTensor(data, 'relu');
      const wrong = expected.values.map((v) => (Number.isNaN(v) ? 0 : v));
      expectRejected(wrong, expected, tolerance, 'relu(NaN) = 0');
    });
  });

  describe('gradients of broadcast operands', () => {
    // The fault: an operand's gradient left at the broadcast shape instead of
    // summed over the broadcast axes (prepended ones included) to its own shape.
    const data = readCase('c22');
    const tolerance = caseTolerance(data);

    test('y, loss and gradients match with operand shapes', () => {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const [a, b, c, s, w] = ['a', 'b', 'c', 's', 'W'].map((k) => caseInput(graph, feeds, k, inputTensor(data, k))) as [Node, Node, Node, Node, Node];
      const y = a.mul(b).add(c).mul(s);
      const loss = w.mul(y).sum();
      const gradients = grad(loss, [a, b, c, s]);
      const [yValue, lossValue, ...gradValues] = evaluate([y, loss, ...gradients], feeds);

      expectTensor(yValue!, expectedTensor(data, 'y'), tolerance, 'y');
      expectAllClose(lossValue!.data, [caseNumber(data, 'expected', 'loss')], tolerance, 'loss');
      ['a', 'b', 'c', 's'].forEach((k, i) => {
        const expected = expectedTensor(data, `grad_${k}`);
        expect(gradients[i]!.shape, `shape of grad_${k}`).toEqual(expected.shape);
        expectTensor(gradValues[i]!, expected, tolerance, `grad_${k}`);
      });
    });

    test('size-1 operand gets a size-1 gradient', () => {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const p = caseInput(graph, feeds, 'p', inputTensor(data, 'p'));
      const q = caseInput(graph, feeds, 'Q', inputTensor(data, 'Q'));
      const [dp, dq] = grad(p.mul(q).sum(), [p, q]);
      const [dpValue, dqValue] = evaluate([dp!, dq!], feeds);

      expectTensor(dpValue!, expectedTensor(data, 'grad_p'), tolerance, 'grad_p');
      expectTensor(dqValue!, expectedTensor(data, 'grad_Q'), tolerance, 'grad_Q');
      // The unreduced gradient of p would be Q itself, of shape [2,2].
      expect(dpValue!.shape).not.toEqual(inputTensor(data, 'Q').shape);
    });
  });

  describe('gradients of reductions with keepDims', () => {
    // The fault: a reduction's gradient that assumes a scalar upstream
    // gradient, or re-inserts reduced axes wrongly, giving the wrong shape.
    const data = readCase('c23');
    const tolerance = caseTolerance(data);

    test('mean over axis 0 with keepDims feeding matmul', () => {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const t = caseInput(graph, feeds, 't', inputTensor(data, 't'));
      const v = caseInput(graph, feeds, 'v', inputTensor(data, 'v'));
      const m = t.mean([0], { keepDims: true });
      const p = m.matmul(v);
      const [dt] = grad(p.sum(), [t]);
      const [mValue, pValue, dtValue] = evaluate([m, p, dt!], feeds);
      expectTensor(mValue!, expectedTensor(data, 'a_m'), tolerance, 'mean(t, 0, keepDims)');
      expectTensor(pValue!, expectedTensor(data, 'a_p'), tolerance, 'matmul');
      expectTensor(dtValue!, expectedTensor(data, 'a_grad_t'), tolerance, 'd/dt');
    });

    test('mean over two axes without keepDims', () => {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const u = caseInput(graph, feeds, 'u', inputTensor(data, 'u'));
      const w = caseInput(graph, feeds, 'w_u', inputTensor(data, 'w_u'));
      const r = u.mean([1, 2]);
      const [du] = grad(r.mul(w).sum(), [u]);
      const [rValue, duValue] = evaluate([r, du!], feeds);
      expectTensor(rValue!, expectedTensor(data, 'b_r'), tolerance, 'mean(u, [1, 2])');
      expectTensor(duValue!, expectedTensor(data, 'b_grad_u'), tolerance, 'd/du');
    });

    test('mean of a vector over axis 0', () => {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const x = caseInput(graph, feeds, 'x1d', inputTensor(data, 'x1d'));
      const loss = x.mean([0]);
      const [dx] = grad(loss, [x]);
      const [value, dxValue] = evaluate([loss, dx!], feeds);
      expectAllClose(value!.data, [caseNumber(data, 'expected', 'c_value')], tolerance, 'mean(x)');
      expect(value!.shape).toEqual([]);
      expectTensor(dxValue!, expectedTensor(data, 'c_grad'), tolerance, 'd/dx');
    });

    test('sum over axis 1 with keepDims', () => {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const t = caseInput(graph, feeds, 't', inputTensor(data, 't'));
      const w = caseInput(graph, feeds, 'w_sum', inputTensor(data, 'w_sum'));
      const s = t.sum([1], { keepDims: true });
      const [dt] = grad(s.mul(w).sum(), [t]);
      const [sValue, dtValue] = evaluate([s, dt!], feeds);
      expectTensor(sValue!, expectedTensor(data, 'd_S'), tolerance, 'sum(t, 1, keepDims)');
      expectTensor(dtValue!, expectedTensor(data, 'd_grad_t'), tolerance, 'd/dt');
    });
  });

  describe('softmax cross-entropy at large logits', () => {
    // The fault: NaN or overflowing gradients when softmax entries underflow
    // to 0 or exp overflows; loss and gradient must come from the max-shifted
    // log-sum-exp.
    const data = readCase('c25');
    const tolerance = caseTolerance(data);

    function expectFinite(values: ArrayLike<number>, label: string): void {
      expect(Array.from(values).every(Number.isFinite), `${label} has NaN or Inf: ${Array.from(values)}`).toBe(true);
    }

    test('one-hot loss and gradient at logits of hundreds', () => {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const logits = caseInput(graph, feeds, 'logits', inputTensor(data, 'logits'));
      const labels = caseInput(graph, feeds, 'onehot', inputTensor(data, 'onehot'));
      const loss = graph.softmaxCrossEntropy(logits, labels);
      const [dz] = grad(loss, [logits]);
      const [lossValue, dzValue] = evaluate([loss, dz!], feeds);
      expectFinite(lossValue!.data, 'loss');
      expectFinite(dzValue!.data, 'gradient');
      expectAllClose(lossValue!.data, [caseNumber(data, 'expected', 'a_loss')], tolerance, 'loss');
      expectTensor(dzValue!, expectedTensor(data, 'a_grad_logits'), tolerance, 'd loss / d logits');
    });

    test('sum of softmax has a zero gradient', () => {
      const graph = new Graph();
      const feeds: Record<string, Float64Array> = {};
      const logits = caseInput(graph, feeds, 'logits2', inputTensor(data, 'logits2'));
      const total = logits.softmax().sum();
      const [dz] = grad(total, [logits]);
      const [value, dzValue] = evaluate([total, dz!], feeds);
      expectFinite(dzValue!.data, 'gradient');
      expectAllClose(value!.data, [caseNumber(data, 'expected', 'b_value_sum_softmax')], tolerance, 'sum(softmax)');
      expectTensor(dzValue!, expectedTensor(data, 'b_grad'), tolerance, 'd sum(softmax) / d logits');
    });

    test('mean sparse loss over a batch', () => {
      const graph = new Graph();
      const feeds: Record<string, Float64Array | Int32Array> = {};
      const logitsTensor = inputTensor(data, 'logits_batch');
      const labelsTensor = inputTensor(data, 'labels_batch');
      const logits = graph.input('logits', logitsTensor.shape, 'float64');
      const labels = graph.input('labels', labelsTensor.shape, 'int32');
      feeds['logits'] = logitsTensor.values;
      feeds['labels'] = Int32Array.from(labelsTensor.values);
      const loss = graph.softmaxCrossEntropy(logits, labels).mean();
      const [dz] = grad(loss, [logits]);
      const [lossValue, dzValue] = evaluate([loss, dz!], feeds);
      expectFinite(lossValue!.data, 'loss');
      expectFinite(dzValue!.data, 'gradient');
      expectAllClose(lossValue!.data, [caseNumber(data, 'expected', 'c_loss_mean')], tolerance, 'mean loss');
      expectTensor(dzValue!, expectedTensor(data, 'c_grad_logits'), tolerance, 'd mean loss / d logits');
    });

    test('NaN gradient fails', () => {
      const expected = expectedTensor(data, 'b_grad');
      expectRejected(expected.values.map(() => NaN), expected, tolerance, 'NaN gradient');
    });
  });
}

for (const backend of EVALUATORS) {
  describe(`on ${backend.name}`, () => caseSuites(backend.evaluate));
}

describe('case loader', () => {
  test('missing file raises naming the path', () => {
    const missing = new URL('../../../shared/cases/no-such-case.json', import.meta.url);
    expect(() => loadCase(missing)).toThrow(/field case file not found: .*no-such-case\.json/);
  });
});
