import { describe, expect, it } from 'vitest';
import {
  Activation,
  Conv2D,
  Dense,
  ELU,
  LeakyReLU,
  ReLU,
  UnknownActivationError,
  canonicalActivation,
  compile,
  evaluate,
  grad,
  graph,
  sequential,
} from '../../src/index.ts';
import type { ActivationSpec, Node } from '../../src/index.ts';
import { LayerError } from '../../src/layers/errors.ts';
import { expectClose, filled } from './helpers.ts';

// Inputs around every kink: negative, -0, 0, positive, and large values.
const X = [-3, -1, -0.5, -0, 0, 0.25, 1, 2.5, -20, 20, 0.001, -0.001];

/** Every accepted form of an activation, with the op it must equal. */
const CASES: { label: string; spec: ActivationSpec; op: (x: Node) => Node }[] = [
  { label: "'linear'", spec: 'linear', op: (x) => x },
  { label: "'relu'", spec: 'relu', op: (x) => x.relu() },
  { label: "'leaky_relu'", spec: 'leaky_relu', op: (x) => x.leakyRelu(0.2) },
  { label: "'leakyRelu'", spec: 'leakyRelu', op: (x) => x.leakyRelu(0.2) },
  { label: "'sigmoid'", spec: 'sigmoid', op: (x) => x.sigmoid() },
  { label: "'tanh'", spec: 'tanh', op: (x) => x.tanh() },
  { label: "'elu'", spec: 'elu', op: (x) => x.elu(1) },
  { label: "'softplus'", spec: 'softplus', op: (x) => x.softplus() },
  { label: "'softmax'", spec: 'softmax', op: (x) => x.softmax(-1) },
  { label: 'new ReLU()', spec: new ReLU(), op: (x) => x.relu() },
  { label: 'new LeakyReLU()', spec: new LeakyReLU(), op: (x) => x.leakyRelu(0.3) },
  { label: 'new LeakyReLU({ alpha: 0.2 })', spec: new LeakyReLU({ alpha: 0.2 }), op: (x) => x.leakyRelu(0.2) },
  { label: 'new LeakyReLU({ negativeSlope: 0.01 })', spec: new LeakyReLU({ negativeSlope: 0.01 }), op: (x) => x.leakyRelu(0.01) },
  { label: 'new ELU({ alpha: 0.5 })', spec: new ELU({ alpha: 0.5 }), op: (x) => x.elu(0.5) },
  { label: "new Activation('tanh')", spec: new Activation('tanh'), op: (x) => x.tanh() },
  { label: 'a callable', spec: (x: Node) => x.leakyRelu(0.1), op: (x) => x.leakyRelu(0.1) },
];

describe('activation forms', () => {
  it.each(CASES)('$label gives the op values and gradients', ({ spec, op }) => {
    const g = graph();
    const x = g.input('x', [2, 6], 'float64');
    const weights = g.constant(filled(12, (i) => 1 + i / 4), [2, 6], 'float64');
    const viaLayer = new Activation(spec).apply(x);
    const viaOp = op(x);
    const [dLayer] = grad(viaLayer.mul(weights).sum(), [x]);
    const [dOp] = grad(viaOp.mul(weights).sum(), [x]);
    const feeds = { x: Float64Array.from(X) };

    const [yLayer, gLayer, yOp, gOp] = evaluate([viaLayer, dLayer!, viaOp, dOp!], feeds);
    expect(Array.from(yLayer!.data)).toEqual(Array.from(yOp!.data));
    expect(Array.from(gLayer!.data)).toEqual(Array.from(gOp!.data));
  });

  it.each(CASES)('$label in Dense equals matmul, bias and the op', ({ spec, op }) => {
    const model = sequential([new Dense({ units: 3, activation: spec, kernelInitializer: 'heNormal', biasInitializer: { kind: 'constant', value: -0.1 } })], { inputShape: [4], seed: 3 });
    const inputs = filled(8, (i) => Math.sin(i * 1.3) * 2);
    const predicted = model.predict(inputs);

    const g = graph();
    const x = g.input('x', [2, 4]);
    const weights = model.getWeights();
    const kernel = g.constant(weights.get('dense_1/kernel')!, [4, 3]);
    const bias = g.constant(weights.get('dense_1/bias')!, [3]);
    const [expected] = evaluate([op(x.matmul(kernel).add(bias))], { x: inputs });
    expectClose(predicted, expected!.data, 1e-5, 1e-6);
  });
});

describe('unknown activation names', () => {
  it('fail when the layer is created', () => {
    expect(() => new Dense({ units: 3, activation: 'LeakyReLU' })).toThrow(UnknownActivationError);
    expect(() => new Conv2D({ filters: 2, kernelSize: 3, activation: 'Relu6' })).toThrow(UnknownActivationError);
    expect(() => new Activation('swish')).toThrow(UnknownActivationError);
  });

  it('suggest leaky_relu or a LeakyReLU layer for LeakyReLU', () => {
    let error: unknown;
    try {
      new Dense({ units: 3, activation: 'LeakyReLU' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnknownActivationError);
    const unknown = error as UnknownActivationError;
    expect(unknown.requested).toBe('LeakyReLU');
    expect(unknown.suggestion).toBe('leaky_relu');
    expect(unknown.message).toContain("'leaky_relu'");
    expect(unknown.message).toContain('new LeakyReLU');
    expect(unknown.message).toContain('Dense');
    for (const name of ['linear', 'relu', 'leaky_relu', 'leakyRelu', 'sigmoid', 'tanh', 'elu', 'softplus', 'softmax']) {
      expect(unknown.known).toContain(name);
      expect(unknown.message).toContain(name);
    }
  });

  it('suggest the nearest name for a typo', () => {
    expect(() => new Dense({ units: 1, activation: 'sigmod' })).toThrow(/Did you mean 'sigmoid'/);
  });
});

describe('LeakyReLU layer options', () => {
  it('defaults alpha to 0.3', () => {
    expect(new LeakyReLU().alpha).toBe(0.3);
  });

  it('accepts negativeSlope as alpha', () => {
    expect(new LeakyReLU({ negativeSlope: 0.05 }).alpha).toBe(0.05);
    expect(new LeakyReLU({ alpha: 0.05, negativeSlope: 0.05 }).alpha).toBe(0.05);
  });

  it('rejects alpha and negativeSlope that differ', () => {
    expect(() => new LeakyReLU({ alpha: 0.1, negativeSlope: 0.2 })).toThrow(LayerError);
  });

  it('rejects a non-finite alpha', () => {
    expect(() => new LeakyReLU({ alpha: Number.NaN })).toThrow(LayerError);
  });
});

describe('canonical activation', () => {
  it('spells out alpha for every leaky form', () => {
    expect(canonicalActivation('leaky_relu', 'test')).toEqual({ name: 'leaky_relu', alpha: 0.2 });
    expect(canonicalActivation('leakyRelu', 'test')).toEqual({ name: 'leaky_relu', alpha: 0.2 });
    expect(canonicalActivation(new LeakyReLU(), 'test')).toEqual({ name: 'leaky_relu', alpha: 0.3 });
    expect(canonicalActivation(new LeakyReLU({ negativeSlope: 0.1 }), 'test')).toEqual({ name: 'leaky_relu', alpha: 0.1 });
    expect(canonicalActivation(new Activation('leakyRelu'), 'test')).toEqual({ name: 'leaky_relu', alpha: 0.2 });
    expect(canonicalActivation('elu', 'test')).toEqual({ name: 'elu', alpha: 1 });
    expect(canonicalActivation(new ReLU(), 'test')).toEqual({ name: 'relu' });
  });
});

describe('fused kernels', () => {
  it('compile Dense with an activation to one kernel', () => {
    for (const activation of ['relu', 'leaky_relu', new LeakyReLU({ alpha: 0.2 }), (x: Node) => x.leakyRelu(0.1)] as ActivationSpec[]) {
      const model = sequential([new Dense({ units: 5, activation })], { inputShape: [7] });
      const step = model.compileInference(4);
      expect(step.executable.kernels.length).toBe(1);
      expect(step.executable.kernels[0]!.summary).toMatch(/^matmul \+ add \+ (relu|leakyRelu)$/);
    }
  });

  it('compile Dense followed by a LeakyReLU layer to one kernel', () => {
    const model = sequential([new Dense({ units: 5 }), new LeakyReLU({ alpha: 0.2 })], { inputShape: [7] });
    const kernels = model.compileInference(4).executable.kernels;
    expect(kernels.map((k) => k.summary)).toEqual(['matmul + add + leakyRelu']);
  });

  it('compile Conv2D with an activation to one kernel', () => {
    const model = sequential([new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: new LeakyReLU({ alpha: 0.2 }) })], { inputShape: [6, 6, 2] });
    const kernels = model.compileInference(2).executable.kernels;
    expect(kernels.map((k) => k.summary)).toEqual(['conv2d + add + leakyRelu']);
  });

  it('compile Conv2D values like the interpreter', () => {
    const model = sequential([new Conv2D({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', biasInitializer: { kind: 'constant', value: 0.05 } })], { inputShape: [5, 5, 2], seed: 4 });
    const inputs = filled(2 * 50, (i) => Math.cos(i * 0.7));
    const predicted = model.predict(inputs);

    const g = graph();
    const x = g.input('x', [2, 5, 5, 2]);
    const weights = model.getWeights();
    const kernel = g.constant(weights.get('conv2d_1/kernel')!, [3, 3, 2, 3]);
    const bias = g.constant(weights.get('conv2d_1/bias')!, [3]);
    const [expected] = evaluate([x.conv2d(kernel, { strides: 2, padding: 'same', bias, activation: 'relu' })], { x: inputs });
    expectClose(predicted, expected!.data, 1e-5, 1e-6);
  });

  it('compile the training step of a Dense LeakyReLU net with the activation fused', () => {
    const model = sequential([new Dense({ units: 8, activation: new LeakyReLU({ alpha: 0.2 }) }), new Dense({ units: 3 })], { inputShape: [5] });
    model.compile({ optimizer: 'sgd', loss: 'softmaxCrossEntropy' });
    const kernels = model.compileTrainStep(4).executable.kernels;
    const forward = kernels.filter((k) => k.summary.startsWith('matmul + add + leakyRelu'));
    expect(forward.length).toBe(1);
    expect(kernels.some((k) => k.summary === 'leakyRelu')).toBe(false);
  });
});

describe('compiled activations', () => {
  it('match the interpreter through compile for every form', () => {
    for (const { label, spec, op } of CASES) {
      const g = graph();
      const x = g.input('x', [2, 6]);
      const y = new Activation(spec).apply(x);
      const feeds = { x: Float32Array.from(X) };
      const compiled = compile(y).run(feeds)[0]!;
      const [reference] = evaluate([op(x)], feeds);
      expectClose(compiled, reference!.data, 1e-5, 1e-6, label);
    }
  });
});
