// A worker thread that trains one run of `slope train` and posts its
// progress and result to the main thread.

import { parentPort, workerData } from 'node:worker_threads';
import type { Dataset } from '../data/dataset.ts';
import type { ProgressReporter } from '../layers/progress.ts';
import { trainRun } from './train-run.ts';
import { serializeError } from './worker-errors.ts';
import type { ActivationChoice, TrainConfig } from './train-run.ts';

/** The input the main thread passes to a worker. */
export interface WorkerInput {
  activation: ActivationChoice;
  config: TrainConfig;
  data: { train: Dataset; validation: Dataset };
  /** Worker threads of each wasm executable: the cores shared among the runs that train at once. */
  threads?: number;
}

const port = parentPort!;
const { activation, config, data, threads } = workerData as WorkerInput;
const reporter: ProgressReporter = {
  epochStart: (info) => port.postMessage({ type: 'epochStart', info }),
  batchEnd: (info) => port.postMessage({ type: 'batchEnd', info }),
  epochEnd: (log, info) => port.postMessage({ type: 'epochEnd', log, info }),
};
try {
  const result = await trainRun(activation, data, config, reporter, threads);
  port.postMessage({ type: 'result', result });
} catch (error) {
  port.postMessage({ type: 'error', error: serializeError(error) });
}
