// A stand-in for the browser's Worker class, built on Node.js
// worker_threads, so that the Web Worker path of the wasm backend runs in
// Node. Like a browser, it fetches the script from a Blob URL
// asynchronously and queues the messages posted before the script runs.
// Inside the worker, `self` is the global object, `self.onmessage` receives
// the posted messages and `postMessage` sends to the page. `process` is
// removed, so the script cannot lean on Node.js APIs that a browser lacks.

import { resolveObjectURL } from 'node:buffer';
import { Worker as NodeWorker } from 'node:worker_threads';

const SELF_SHIM = `
const { parentPort } = process.getBuiltinModule('node:worker_threads');
delete globalThis.process;
globalThis.self = globalThis;
globalThis.postMessage = (value) => parentPort.postMessage(value);
parentPort.on('message', (data) => {
  if (typeof self.onmessage === 'function') self.onmessage({ data });
});
`;

export class FakeWebWorker {
  /** Every worker constructed since the last reset(), with the URL it was given. */
  static started: { url: string; worker: FakeWebWorker }[] = [];

  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: { message: string }) => void) | null = null;
  private worker: NodeWorker | undefined;
  private readonly queued: unknown[] = [];
  private terminated = false;

  constructor(url: string) {
    const blob = resolveObjectURL(url);
    if (blob === undefined) throw new TypeError(`Failed to construct 'Worker': ${url} is not a Blob URL of this process`);
    FakeWebWorker.started.push({ url, worker: this });
    void blob.text().then((source) => this.start(source));
  }

  static reset(): void {
    FakeWebWorker.started = [];
  }

  private start(source: string): void {
    if (this.terminated) return;
    const worker = new NodeWorker(SELF_SHIM + source, { eval: true, execArgv: [] });
    worker.on('message', (data) => this.onmessage?.({ data }));
    worker.on('error', (error) => this.onerror?.({ message: error.message }));
    for (const value of this.queued) worker.postMessage(value);
    this.queued.length = 0;
    this.worker = worker;
  }

  postMessage(value: unknown): void {
    if (this.worker === undefined) this.queued.push(value);
    else this.worker.postMessage(value);
  }

  terminate(): void {
    this.terminated = true;
    void this.worker?.terminate();
  }
}
