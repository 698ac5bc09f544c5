// Slope's rows in the benchmark, built from slope's public API
// (`src/index.ts`), which is loaded lazily so the benchmark runs in any
// checkout. There is one row per backend that compile() accepts
// ('slope-js', 'slope-wasm'). slope-wasm-1t runs the wasm backend on one
// thread, and slope-wasm-scalar with SIMD forced off. Each `setup` builds the workload's graph with
// examples/workloads.ts, and `compile` times compile() for W6.

import type { BackendName, Executable } from '../../src/index.ts';
import type { Workload as SlopeWorkload } from '../../examples/workloads.ts';
import { convLeakyForward, convLeakyTrain, eltwiseChain, matmul512, mlpTrain } from '../../examples/workloads.ts';
import type { Inputs, Prepared, System } from '../system.ts';
import { SystemUnavailableError } from '../system.ts';
import type { WorkloadId } from '../workloads.ts';
import { CONV, ELTWISE, EPOCH, MATMUL, MLP, MLP_PARAMS, WORKLOAD_IDS } from '../workloads.ts';

/** Slope's entry module, resolved from this file so the bench works from any directory. */
const SLOPE_INDEX = new URL('../../src/index.ts', import.meta.url);

/** The part of slope's public API that the benchmark relies on. */
interface SlopeApi {
  compile: typeof import('../../src/index.ts').compile;
  graph: typeof import('../../src/index.ts').graph;
}

/**
 * Imports slope's entry module. Returns why slope cannot be benchmarked yet
 * when the module is missing, fails to load or lacks `compile`.
 */
async function loadSlope(): Promise<SlopeApi | string> {
  let module: Record<string, unknown>;
  try {
    // A computed specifier keeps the type checker from requiring the module to exist.
    module = (await import(SLOPE_INDEX.href)) as Record<string, unknown>;
  } catch (error) {
    const missing =
      error instanceof Error &&
      (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      error.message.includes(SLOPE_INDEX.pathname);
    if (missing) return 'src/index.ts does not exist yet';
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return `src/index.ts failed to load: ${reason}`;
  }
  if (typeof module.compile !== 'function') return 'src/index.ts does not export compile yet';
  return module as unknown as SlopeApi;
}

/** Lists the backends that this checkout's compile() accepts, probed by compiling a one-node graph. */
function availableBackends(api: SlopeApi): BackendName[] {
  const g = api.graph();
  const x = g.input('x', [1]);
  return (['js', 'wasm'] as const).filter((backend) => {
    try {
      api.compile([x.neg()], { backend });
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Builds a workload's graph, compiles it for one backend and wraps it as a
 * Prepared run. `threads` and `simd` are the wasm backend's options, unset
 * for their defaults. Outside W6 it compiles here and waits for the worker threads to
 * start, so that the timed runs use them.
 */
async function prepare(api: SlopeApi, backend: BackendName, id: WorkloadId, inputs: Inputs, threads?: number, simd?: boolean): Promise<Prepared> {
  const target = id === 'W6' ? 'W4' : id;
  const built = buildWorkload(target);
  const feeds: Record<string, Float32Array> = {};
  const params: Record<string, Float32Array> = {};
  for (const [name, tensor] of Object.entries(inputs)) {
    if (target === 'W4' && (MLP_PARAMS as readonly string[]).includes(name)) params[name] = tensor.data;
    else feeds[name] = tensor.data;
  }
  let exe: Executable | undefined;
  let liveFeeds: Record<string, Float32Array> = feeds;
  const build = () => {
    const start = performance.now();
    exe?.dispose();
    exe = api.compile(built.outputs, { backend, params, ...(threads === undefined ? {} : { threads }), ...(simd === undefined ? {} : { simd }), ...(built.updates === undefined ? {} : { updates: built.updates }) });
    const ms = performance.now() - start;
    // Inputs are written into the executable's memory once, as the peers upload their tensors once at setup.
    liveFeeds = Object.fromEntries(Object.entries(feeds).map(([name, data]) => {
      const view = exe!.inputView(name) as Float32Array;
      view.set(data);
      return [name, view];
    }));
    return ms;
  };
  const executable = () => exe ?? (build(), exe!);
  if (id !== 'W6') await executable().ready();
  return {
    compile: async () => build(),
    run: () => {
      const e = executable();
      const outputs = e.run(liveFeeds) as Float32Array[];
      if (target !== 'W4') return outputs;
      return [outputs[0]!, ...MLP_PARAMS.map((name) => e.getParam(name) as Float32Array)];
    },
    memory: () => {
      const { peakBytes, boundBytes } = executable().memory;
      return { peakBytes, requiredBytes: boundBytes };
    },
    dispose: () => exe?.dispose(),
  };
}

function buildWorkload(id: WorkloadId): SlopeWorkload {
  switch (id) {
    case 'W1':
      return matmul512(MATMUL.size);
    case 'W2':
      return convLeakyForward(CONV.batch);
    case 'W3':
      return convLeakyTrain(CONV.batch);
    case 'W4':
      return mlpTrain(MLP.batch, MLP.learningRate);
    case 'W5':
      return eltwiseChain(ELTWISE.size);
    default:
      throw new RangeError(`slope: workload ${id} is not built here`);
  }
}

/**
 * W7: one epoch of `slope train`'s CNN (its default filters, LeakyReLU 0.2,
 * Adam) over the 10,000 bundled digits, batch 64, through the layers API.
 * Each run trains the same model further, as the peers' training steps do.
 */
async function prepareEpoch(backend: BackendName): Promise<Prepared> {
  const { loadBundledMnist } = await import('../../src/data/node-fs.ts');
  const { buildCnn } = await import('../../src/cli/train-run.ts');
  const { TRAIN_DEFAULTS } = await import('../../src/cli/train.ts');
  const { Adam } = await import('../../src/layers/index.ts');
  const digits = await loadBundledMnist();
  const model = buildCnn('leaky_relu', { ...TRAIN_DEFAULTS, alpha: 0.2 }, [digits.height, digits.width, digits.channels]);
  model.compile({ optimizer: new Adam({ learningRate: TRAIN_DEFAULTS.learningRate }), loss: 'softmaxCrossEntropy', metrics: ['accuracy'], backend });
  let seed = 0;
  return {
    run: async () => {
      const history = await model.fit(digits, { epochs: 1, batchSize: EPOCH.batch, seed: seed++, progress: false });
      return [Float32Array.of(history.epochs[0]!.loss)];
    },
    skipCheck: 'only slope runs this workload',
  };
}

/**
 * Creates one system per slope backend that compile() accepts, and for the
 * wasm backend two more rows. slope-wasm-1t runs on one thread where
 * slope-wasm uses the default (one per core), so that one run shows what the
 * threads gain. slope-wasm-scalar has SIMD forced off. W7, a whole training epoch, runs on the default wasm row only: on
 * the JS backend its 13 runs would take several minutes.
 */
function createBackendSystems(api: SlopeApi): System[] | string {
  const backends = availableBackends(api);
  if (backends.length === 0) return 'compile() accepts neither the js nor the wasm backend';
  const rows: { backend: BackendName; name: string; threads?: number; simd?: boolean }[] = backends.map((backend) => ({ backend, name: `slope-${backend}` }));
  if (backends.includes('wasm')) {
    rows.push({ backend: 'wasm', name: 'slope-wasm-1t', threads: 1 });
    rows.push({ backend: 'wasm', name: 'slope-wasm-scalar', simd: false });
  }
  return rows.map(({ backend, name, threads, simd }) => ({
    name,
    group: 'slope',
    supports: (id: WorkloadId) => id !== 'W7' || (backend === 'wasm' && threads === undefined && simd === undefined),
    init: async () => {},
    setup: async (id: WorkloadId, inputs: Inputs) => (id === 'W7' ? prepareEpoch(backend) : prepare(api, backend, id, inputs, threads, simd)),
    dispose: async () => {},
  }));
}

/** Creates a stand-in row whose `init` fails with the reason slope cannot run. */
function unavailableSystem(reason: string): System {
  return {
    name: 'slope',
    group: 'slope',
    supports: (id) => WORKLOAD_IDS.includes(id),
    init: async () => {
      throw new SystemUnavailableError(`not available yet: ${reason}`);
    },
    setup: async () => {
      throw new SystemUnavailableError(`not available yet: ${reason}`);
    },
    dispose: async () => {},
  };
}

export async function createSystems(): Promise<System[]> {
  const api = await loadSlope();
  if (typeof api === 'string') return [unavailableSystem(api)];
  const systems = createBackendSystems(api);
  return typeof systems === 'string' ? [unavailableSystem(systems)] : systems;
}
