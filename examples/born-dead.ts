// The born-dead experiment of Lu, Shin, Su and Karniadakis, "Dying ReLU and
// Initialization: Theory and Numerical Examples" (2019): bias-free ReLU
// networks with one input x in [-1, 1], H hidden layers of width N and a
// scalar output, weights i.i.d. N(0, 2 / fan_in) (He normal), biases 0.
//
// A network is born dead when it is constant on [-1, 1]. Without biases it
// is positively homogeneous, f(x) = x f(1) for x >= 0 and |x| f(-1) for
// x < 0, so it is constant exactly when both x = +1 and x = -1 reach an
// all-zero hidden layer (an output weight vector orthogonal to a live layer
// has probability 0). That two-point test runs on 10^5 networks per width
// at once: one compiled graph evaluates a batch of networks as a batched
// matmul, the weights being inputs of shape [networks, fan_in, N]. The
// network of depth H is the first H hidden layers of a network of depth 20,
// so one run gives every depth.
//
// The static analysis must reach the same verdict from bounds alone: on the
// sub-boxes [-1, 0] and [0, 1] (splits: 1), a network is born dead when each
// sub-box has a layer whose units are all dead. This example checks that on
// 10^4 networks. It also runs the experiment with leakyRelu (never born dead)
// and with the randomizedAsymmetric initializer.
//
// Run: npx tsx examples/born-dead.ts [--networks 100000] [--agreement 100]

import { parseArgs } from 'node:util';
import type { Executable, Node } from '../src/index.ts';
import { analyzeStatic, compile, fillRandomizedAsymmetric, graph } from '../src/index.ts';

export const WIDTHS = [2, 3, 4, 5, 10] as const;
export const MAX_DEPTH = 20;

export type Activation = 'relu' | 'leakyRelu';
export type Initializer = 'heNormal' | 'randomizedAsymmetric';

/** Slope of the leakyRelu variant. */
export const LEAKY_ALPHA = 0.01;

/** Start of the normal ziggurat's tail and the area of each of its 128 layers. */
const ZIGGURAT_R = 3.442619855899;
const ZIGGURAT_AREA = 9.91256303526217e-3;

/**
 * A fast seeded source of uniform and standard normal draws: mulberry32 for
 * the bits and the ziggurat method of Marsaglia and Tsang (2000, 128
 * layers) for normals. The ziggurat needs a log or exp only in rare slow
 * cases, where Box-Muller needs log, sqrt and a cosine per draw.
 */
export class Sampler {
  private state: number;
  private static readonly tables = zigguratTables();

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Returns 32 random bits as a signed integer. */
  bits(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) | 0;
  }

  /** Returns a uniform draw in [0, 1). */
  next(): number {
    return (this.bits() >>> 0) / 4294967296;
  }

  normal(): number {
    const { k, w, f } = Sampler.tables;
    let bits = this.bits();
    let layer = bits & 127;
    if (Math.abs(bits) < k[layer]!) return bits * w[layer]!;
    for (;;) {
      const x = bits * w[layer]!;
      if (layer === 0) {
        // The base layer's tail beyond r: sample it by the exponential method.
        let tail: number;
        let y: number;
        do {
          tail = -Math.log(1 - this.next()) / ZIGGURAT_R;
          y = -Math.log(1 - this.next());
        } while (y + y < tail * tail);
        return bits > 0 ? ZIGGURAT_R + tail : -ZIGGURAT_R - tail;
      }
      if (f[layer]! + this.next() * (f[layer - 1]! - f[layer]!) < Math.exp(-0.5 * x * x)) return x;
      bits = this.bits();
      layer = bits & 127;
      if (Math.abs(bits) < k[layer]!) return bits * w[layer]!;
    }
  }
}

/** Builds the ziggurat's tables: k, the integer thresholds of fast acceptance; w, the scale of each layer; f, the density at each layer's edge. */
function zigguratTables(): { k: Float64Array; w: Float64Array; f: Float64Array } {
  const scale = 2 ** 31;
  const k = new Float64Array(128);
  const w = new Float64Array(128);
  const f = new Float64Array(128);
  let edge = ZIGGURAT_R;
  let previous = edge;
  const q = ZIGGURAT_AREA / Math.exp(-0.5 * edge * edge);
  k[0] = (edge / q) * scale;
  k[1] = 0;
  w[0] = q / scale;
  w[127] = edge / scale;
  f[0] = 1;
  f[127] = Math.exp(-0.5 * edge * edge);
  for (let i = 126; i >= 1; i--) {
    edge = Math.sqrt(-2 * Math.log(ZIGGURAT_AREA / edge + Math.exp(-0.5 * edge * edge)));
    k[i + 1] = (edge / previous) * scale;
    previous = edge;
    f[i] = Math.exp(-0.5 * edge * edge);
    w[i] = edge / scale;
  }
  return { k, w, f };
}

/** The fan-in of hidden layer `layer` (0-based): 1 for the first, else the width. */
export const fanIn = (width: number, layer: number) => (layer === 0 ? 1 : width);

/**
 * Builds one graph that evaluates `batch` networks at x = +1 and x = -1, once
 * per activation, all sharing the weights. Its inputs are the weights
 * w0..w{depth-1} of shape [batch, fanIn, width]. Its outputs are, per
 * activation and layer, the number of positive pre-activations of each
 * network at each point, of shape [batch, 2].
 */
export function batchedNetworks(width: number, depth: number, batch: number, activations: readonly Activation[]): Node[][] {
  const g = graph();
  const x = g.constant([1, -1], [2, 1], 'float64');
  const weights = Array.from({ length: depth }, (_, layer) => g.input(`w${layer}`, [batch, fanIn(width, layer), width], 'float64'));
  return activations.map((activation) => {
    const outputs: Node[] = [];
    let h: Node = x;
    for (const w of weights) {
      const z = h.matmul(w);
      outputs.push(z.greater(0).cast('float64').sum(-1));
      h = activation === 'relu' ? z.relu() : z.leakyRelu(LEAKY_ALPHA);
    }
    return outputs;
  });
}

/** Draws the weights of `batch` networks, one Float64Array of [batch, fanIn, width] per layer. */
export function drawWeights(width: number, depth: number, batch: number, init: Initializer, sampler: Sampler): Float64Array[] {
  return Array.from({ length: depth }, (_, layer) => {
    const rows = fanIn(width, layer);
    const size = rows * width;
    const out = new Float64Array(batch * size);
    if (init === 'heNormal') {
      const std = Math.sqrt(2 / rows);
      for (let i = 0; i < out.length; i++) out[i] = std * sampler.normal();
    } else {
      for (let network = 0; network < batch; network++) fillRandomizedAsymmetric(out, network * size, rows, width, sampler);
    }
    return out;
  });
}

/**
 * Finds, per network, the first depth (1-based) at which both points have
 * met a layer with no positive pre-activation, or 0. For relu that is the
 * depth from which the network is born dead.
 */
export function firstDeadDepth(counts: readonly ArrayLike<number>[], batch: number): Int32Array {
  const first = new Int32Array(batch);
  for (let network = 0; network < batch; network++) {
    let plusDead = false;
    let minusDead = false;
    for (let layer = 0; layer < counts.length && first[network] === 0; layer++) {
      const counted = counts[layer]!;
      plusDead ||= counted[2 * network] === 0;
      minusDead ||= counted[2 * network + 1] === 0;
      if (plusDead && minusDead) first[network] = layer + 1;
    }
  }
  return first;
}

export interface MonteCarloResult {
  width: number;
  networks: number;
  /** Per activation: the fraction of networks whose first dead depth is at most H, for H = 1..MAX_DEPTH. */
  probability: Float64Array[];
  /** Weights and first dead depths (of the first activation) of the first networks, kept for the agreement check. */
  sample: { weights: Float64Array[]; firstDead: Int32Array };
  ms: number;
}

/** Runs the two-point test on `networks` random networks of one width, in batches through one executable. */
export function monteCarlo(width: number, networks: number, options: { activations: readonly Activation[]; init: Initializer; seed: number; keep: number }): MonteCarloResult {
  const start = performance.now();
  const batch = Math.min(networks, Math.max(500, Math.floor(4e6 / (width * width * MAX_DEPTH))));
  const outputs = batchedNetworks(width, MAX_DEPTH, batch, options.activations);
  const executable: Executable = compile(outputs.flat());
  const sampler = new Sampler(options.seed + 7919 * width + (options.init === 'heNormal' ? 0 : 104729));
  const totals = options.activations.map(() => new Float64Array(MAX_DEPTH));
  let sample: MonteCarloResult['sample'] | undefined;
  for (let done = 0; done < networks; done += batch) {
    const used = Math.min(batch, networks - done);
    const weights = drawWeights(width, MAX_DEPTH, batch, options.init, sampler);
    const results = executable.run(Object.fromEntries(weights.map((w, layer) => [`w${layer}`, w])));
    options.activations.forEach((_, a) => {
      const first = firstDeadDepth(results.slice(a * MAX_DEPTH, (a + 1) * MAX_DEPTH), used);
      for (const depth of first) if (depth > 0) totals[a]![depth - 1]!++;
      if (a === 0 && sample === undefined) {
        sample = { weights: weights.map((w, layer) => w.slice(0, options.keep * fanIn(width, layer) * width)), firstDead: first.slice(0, options.keep) };
      }
    });
  }
  // A network dead at depth d is dead at every depth after it.
  const probability = totals.map((counts) => {
    let cumulative = 0;
    return counts.map((n) => (cumulative += n) / networks);
  });
  return { width, networks, probability, sample: sample!, ms: performance.now() - start };
}

/** Builds one network of the given depth whose weights are params w0.., for the static analysis. */
export function singleNetwork(width: number, depth: number, activation: Activation): Node {
  const g = graph();
  const x = g.input('x', [1, 1], 'float64');
  let h: Node = x;
  for (let layer = 0; layer < depth; layer++) {
    const z = h.matmul(g.param(`w${layer}`, [fanIn(width, layer), width], { dtype: 'float64', init: 'zeros' }));
    h = activation === 'relu' ? z.relu() : z.leakyRelu(LEAKY_ALPHA);
  }
  return h.matmul(g.param('out', [width, 1], { dtype: 'float64', init: 'ones' }));
}

export interface StaticVerdict {
  bornDead: boolean;
  /** Some sub-box has a layer whose units are all dead (relu) or all in the negative regime (leakyRelu). */
  layerNeverPositive: boolean;
  deadUnits: number;
  negativeRegimeUnits: number;
}

/** Decides from bounds over [-1, 0] and [0, 1] whether the network with these weights is born dead. */
export function staticVerdict(network: Node, weights: readonly Float64Array[]): StaticVerdict {
  const params = Object.fromEntries(weights.map((w, layer) => [`w${layer}`, w]));
  const report = analyzeStatic(network, { region: { x: { lower: -1, upper: 1 } }, splits: 1, params });
  const dead = report.layers.filter((l) => l.label === 'dead').reduce((n, l) => n + l.counts.dead, 0);
  const negative = report.layers.filter((l) => l.label === 'negativeRegime').reduce((n, l) => n + l.counts.dead, 0);
  const everyBox = report.leaves.every((leaf) => leaf.deadLayers.length > 0);
  const relu = report.layers.every((l) => l.label === 'dead');
  return { bornDead: relu && everyBox, layerNeverPositive: everyBox, deadUnits: dead, negativeRegimeUnits: negative };
}

/** Returns the weights of network `index` of a sample, cut to the first `depth` layers. */
export function networkWeights(sample: MonteCarloResult['sample'], width: number, index: number, depth: number): Float64Array[] {
  return sample.weights.slice(0, depth).map((w, layer) => {
    const size = fanIn(width, layer) * width;
    return w.subarray(index * size, (index + 1) * size);
  });
}

/** Compares the static verdict with the two-point test on every kept network at every depth; returns the disagreements. */
export function checkAgreement(result: MonteCarloResult, perDepth: number): { checked: number; disagreements: string[]; ms: number } {
  const start = performance.now();
  const disagreements: string[] = [];
  let checked = 0;
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    const network = singleNetwork(result.width, depth, 'relu');
    for (let index = 0; index < perDepth; index++) {
      const first = result.sample.firstDead[index]!;
      const twoPoint = first !== 0 && first <= depth;
      const verdict = staticVerdict(network, networkWeights(result.sample, result.width, index, depth));
      if (verdict.bornDead !== twoPoint) disagreements.push(`N=${result.width} H=${depth} network ${index}: two-point ${twoPoint}, static ${verdict.bornDead}`);
      checked++;
    }
  }
  return { checked, disagreements, ms: performance.now() - start };
}

/**
 * Bounds on the born-dead probability derived in docs/born-dead.md: each
 * point dies within H layers with probability q = 1 - (1 - 2^-N)^H, so
 * max(0, 2q - 1) <= P(born dead) <= q.
 */
export function theoryBounds(width: number, depth: number): [number, number] {
  const q = 1 - (1 - 2 ** -width) ** depth;
  return [Math.max(0, 2 * q - 1), q];
}

function formatTable(title: string, cell: (width: number, depth: number) => string): string {
  const header = ['H', ...WIDTHS.map((n) => `N=${n}`)];
  const rows = Array.from({ length: MAX_DEPTH }, (_, k) => [String(k + 1), ...WIDTHS.map((n) => cell(n, k + 1))]);
  const widths = header.map((_, c) => Math.max(header[c]!.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((v, c) => v.padStart(widths[c]!)).join(' | ')} |`;
  return [`${title}\n`, line(header), `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { networks: { type: 'string', default: '100000' }, agreement: { type: 'string', default: '100' }, seed: { type: 'string', default: '1' } } });
  const networks = Number(values.networks);
  const perDepth = Number(values.agreement);
  const seed = Number(values.seed);
  const started = performance.now();
  const log = (text: string) => process.stderr.write(`${text}\n`);

  const he = new Map<number, MonteCarloResult>();
  const rai = new Map<number, MonteCarloResult>();
  for (const width of WIDTHS) {
    he.set(width, monteCarlo(width, networks, { activations: ['relu', 'leakyRelu'], init: 'heNormal', seed, keep: perDepth }));
    rai.set(width, monteCarlo(width, networks, { activations: ['relu'], init: 'randomizedAsymmetric', seed, keep: 0 }));
    log(`N=${width}: He normal (relu and leakyRelu) ${(he.get(width)!.ms / 1000).toFixed(1)} s, randomizedAsymmetric ${(rai.get(width)!.ms / 1000).toFixed(1)} s`);
  }

  let checked = 0;
  const disagreements: string[] = [];
  let agreementMs = 0;
  for (const width of WIDTHS) {
    const agreement = checkAgreement(he.get(width)!, perDepth);
    checked += agreement.checked;
    disagreements.push(...agreement.disagreements);
    agreementMs += agreement.ms;
  }
  log(`static analysis: ${checked} networks in ${(agreementMs / 1000).toFixed(1)} s, ${disagreements.length} disagreements`);

  const leakySample = singleNetwork(3, 10, 'leakyRelu');
  const leakyVerdicts = Array.from({ length: 200 }, (_, k) => {
    const sampler = new Sampler(seed + k);
    const weights = drawWeights(3, 10, 1, 'heNormal', sampler);
    return staticVerdict(leakySample, weights);
  });

  const p = (runs: Map<number, MonteCarloResult>, activation: number) => (width: number, depth: number) => runs.get(width)!.probability[activation]![depth - 1]!.toFixed(4);
  const out = [
    `Born-dead probability, ${networks} networks per width (He normal, relu):`,
    formatTable('', p(he, 0)),
    '',
    'Bounds max(0, 2q - 1) <= P <= q with q = 1 - (1 - 2^-N)^H:',
    formatTable('', (n, h) => theoryBounds(n, h).map((b) => b.toFixed(3)).join('..')),
    '',
    `LeakyReLU (alpha ${LEAKY_ALPHA}): fraction where both points meet a layer with no positive pre-activation (never born dead):`,
    formatTable('', p(he, 1)),
    '',
    `randomizedAsymmetric weights, biases 0:`,
    formatTable('', p(rai, 0)),
    '',
    `static analysis vs two-point test: ${checked} networks, ${disagreements.length} disagreements${disagreements.length > 0 ? `:\n${disagreements.slice(0, 10).join('\n')}` : ''}`,
    `leakyRelu N=3 H=10, ${leakyVerdicts.length} networks: dead units ${leakyVerdicts.reduce((n, v) => n + v.deadUnits, 0)}, negative-regime units ${leakyVerdicts.reduce((n, v) => n + v.negativeRegimeUnits, 0)}, born dead ${leakyVerdicts.filter((v) => v.bornDead).length}, all-negative layer on both halves ${leakyVerdicts.filter((v) => v.layerNeverPositive).length}`,
    `total ${((performance.now() - started) / 1000).toFixed(1)} s`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
