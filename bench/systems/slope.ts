// Slope's rows in the benchmark, built from slope's public API
// (`src/index.ts`), which is loaded lazily so the benchmark runs in any
// checkout. Until that module exports `compile`, every slope row reports
// "not available yet" and the peers are measured as usual.
//
// To plug a backend in, return one System per backend from
// `createBackendSystems` (names such as 'slope-js' and 'slope-wasm', group
// 'slope'). Each `setup` builds the workload's graph, and `compile` in the
// returned Prepared compiles it and returns the milliseconds that took.
// W6 then reports that figure, measured in a fresh process.

import type { System } from '../system.ts';
import { SystemUnavailableError } from '../system.ts';
import { WORKLOAD_IDS } from '../workloads.ts';

/** Slope's entry module, resolved from this file so the bench works from any directory. */
const SLOPE_INDEX = new URL('../../src/index.ts', import.meta.url);

/** The part of slope's public API that the benchmark relies on. */
interface SlopeApi {
  compile: (...args: never[]) => unknown;
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

/**
 * Creates one system per slope backend.
 * TODO: build W1..W7 on slope's graph API and compile them here once the
 * signature of `compile` is settled. Until then this returns the reason.
 */
function createBackendSystems(_api: SlopeApi): System[] | string {
  return 'slope exports compile, but bench/systems/slope.ts does not build its workloads yet';
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
