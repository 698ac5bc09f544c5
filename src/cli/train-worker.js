// Entry of a `slope train` worker thread. Loader hooks registered in the main
// thread do not reach worker threads in Node 20, so the worker registers tsx
// itself before it loads the TypeScript sources.
import { register } from 'tsx/esm/api';

register();
await import('./train-worker.ts');
