// The systems the benchmark measures, in the order their rows print. Each
// module under systems/ exports `createSystems()`. Modules are imported by a
// computed URL so that type-checking the library (`npm run typecheck` at the
// root) does not need the peers installed in bench/node_modules.

import type { System } from './system.ts';
import { WORKLOAD_IDS } from './workloads.ts';

/** Modules under systems/, in row order: slope first, the floor last. */
export const SYSTEM_MODULES = ['slope.ts', 'tfjs.ts', 'jax.ts', 'ort.ts', 'js-loop.ts'] as const;

export type SystemModule = (typeof SYSTEM_MODULES)[number];

/** A system together with the module that creates it, so a child process can create it again. */
export interface SystemEntry {
  readonly module: SystemModule;
  readonly system: System;
}

interface SystemsModule {
  createSystems(): System[] | Promise<System[]>;
}

/** Imports one module under systems/ and returns its systems. */
export async function loadModule(module: SystemModule): Promise<SystemEntry[]> {
  const url = new URL(`./systems/${module}`, import.meta.url);
  const loaded = (await import(url.href)) as SystemsModule;
  const systems = await loaded.createSystems();
  return systems.map((system) => ({ module, system }));
}

/** Creates a row that fails on every workload with the error that kept `module` from loading. */
function brokenModuleEntry(module: SystemModule, error: unknown): SystemEntry {
  const name = module.replace(/\.ts$/, '');
  const message = `systems/${module} failed to load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  const fail = async (): Promise<never> => {
    throw new Error(message);
  };
  const system: System = {
    name,
    group: name,
    supports: (id) => WORKLOAD_IDS.includes(id),
    init: fail,
    setup: fail,
    dispose: async () => {},
  };
  return { module, system };
}

/**
 * Imports every module under systems/ and returns all systems in row order.
 * A module that fails to load becomes one failed row instead of ending the run.
 */
export async function loadAllSystems(): Promise<SystemEntry[]> {
  const entries: SystemEntry[] = [];
  for (const module of SYSTEM_MODULES) {
    try {
      entries.push(...(await loadModule(module)));
    } catch (error) {
      const broken = brokenModuleEntry(module, error);
      process.stderr.write(`bench: ${broken.system.name}: ${String(error)}\n`);
      entries.push(broken);
    }
  }
  return entries;
}

/** Creates the system `name` from `module`; used by child processes. */
export async function loadSystem(module: SystemModule, name: string): Promise<System> {
  const entry = (await loadModule(module)).find((candidate) => candidate.system.name === name);
  if (entry === undefined) throw new Error(`registry: system ${JSON.stringify(name)} not found in systems/${module}`);
  return entry.system;
}
