// Entry point of a child process that hosts one cell for the parent
// benchmark (see cells.ts): it creates the system, regenerates the inputs
// from the seed, and replies to 'open', 'time' and 'close' in turn.

import type { Cell, ChildReply, ChildRequest } from './cells.ts';
import { openLocalCell } from './cells.ts';
import { loadSystem } from './registry.ts';
import type { System } from './system.ts';
import { SystemUnavailableError } from './system.ts';
import { WORKLOADS } from './workloads.ts';

let system: System | undefined;
let cell: Cell | undefined;

function send(reply: ChildReply): void {
  process.send?.(reply);
}

async function handle(request: ChildRequest): Promise<ChildReply> {
  switch (request.type) {
    case 'open': {
      system = await loadSystem(request.module, request.system);
      await system.init();
      cell = await openLocalCell(system, request.workload, WORKLOADS[request.workload].makeInputs(request.seed));
      const { outputs, compileMs, skipCheck, bytesPerRun, memory } = cell;
      return { type: 'opened', info: { outputs, compileMs, skipCheck, bytesPerRun, memory } };
    }
    case 'time':
      if (cell === undefined) throw new Error("internal: 'time' before 'open'");
      return { type: 'timed', times: await cell.time(request.protocol) };
    case 'close':
      await cell?.close();
      await system?.dispose();
      return { type: 'closed' };
  }
}

// Requests arrive one at a time: the parent waits for each reply before sending the next.
process.on('message', (request: ChildRequest) => {
  handle(request).then(
    (reply) => {
      send(reply);
      if (reply.type === 'closed') process.disconnect();
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      send({ type: 'error', message, unavailable: error instanceof SystemUnavailableError });
    },
  );
});
