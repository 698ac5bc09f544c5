// Builds a model's forward pass into a graph: the input, every layer's nodes
// in order, the params they ask for, the noise inputs of dropout and the
// pre-activations recorded for counting dead units.

import type { Graph } from '../graph/graph.ts';
import type { InitSpec } from '../graph/init.ts';
import type { Node } from '../graph/node.ts';
import type { Shape } from '../graph/shape.ts';
import { LayerError } from './errors.ts';
import { initSpec } from './layer.ts';
import type { Initializer, Layer, LayerContext } from './layer.ts';

/** A param a model owns: `layer/localName`, its shape and how it was initialised. */
export interface ParamInfo {
  name: string;
  layer: string;
  shape: Shape;
  initializer: Initializer;
}

/** The forward pass of a model in one graph. */
export interface ForwardGraph {
  input: Node;
  output: Node;
  /** Params in the order the layers created them. */
  params: ParamInfo[];
  paramNodes: Map<string, Node>;
  /** Inputs to feed with uniform [0, 1) values at every step, by input name. */
  noise: Map<string, Node>;
  /** Pre-activations of the Dense and Conv2D layers, by layer name, in layer order. */
  units: Map<string, Node>;
  /** Output of each layer, in layer order. */
  layerOutputs: Node[];
}

/**
 * Returns a deterministic seed for the param at `index`: the model's seed
 * mixed with the index (a multiplicative hash), so params get distinct
 * random streams.
 */
export function paramSeed(modelSeed: number, index: number): number {
  return (modelSeed + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
}

/**
 * Appends the forward pass of `layers` to `graph` for a batch of
 * `batchSize` examples of `inputShape`. Params get their initializers seeded
 * from `seed`, but the caller of compile usually supplies their values.
 */
export function buildForward(graph: Graph, layers: readonly Layer[], inputShape: Shape, batchSize: number, options: { training: boolean; seed: number }): ForwardGraph {
  const input = graph.input('x', [batchSize, ...inputShape]);
  const params: ParamInfo[] = [];
  const paramNodes = new Map<string, Node>();
  const noise = new Map<string, Node>();
  const units = new Map<string, Node>();
  const layerOutputs: Node[] = [];

  let x: Node = input;
  for (const layer of layers) {
    const layerName = layer.name!;
    const context: LayerContext = {
      training: options.training,
      param(localName, shape, initializer) {
        const name = `${layerName}/${localName}`;
        if (paramNodes.has(name)) throw new LayerError(`Error in ${layer.className} ${layerName}: the layer asked twice for param ${JSON.stringify(localName)}`);
        const init: InitSpec = initSpec(initializer, paramSeed(options.seed, params.length), `${layer.className} ${layerName}`);
        const node = graph.param(name, shape, { init });
        params.push({ name, layer: layerName, shape: [...shape], initializer });
        paramNodes.set(name, node);
        return node;
      },
      uniformNoise(localName, shape) {
        const name = `${layerName}/${localName}`;
        const node = graph.input(name, [batchSize, ...shape]);
        noise.set(name, node);
        return node;
      },
      recordUnits(preActivation) {
        units.set(layerName, preActivation);
        // The layer's name labels its pre-activation, so the dead-unit analysis of the graph names the layer as the model does.
        if (preActivation.name === undefined && preActivation.op !== 'input' && preActivation.op !== 'param') preActivation.named(layerName);
      },
    };
    x = layer.call(x, context);
    layerOutputs.push(x);
  }
  return { input, output: x, params, paramNodes, noise, units, layerOutputs };
}
