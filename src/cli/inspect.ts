// `slope inspect FILE`: loads a module whose default export builds a graph
// and returns its output nodes, compiles it and prints what each stage
// produced: the graph after a pass, the fusion groups, the kernels' source.

import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { compile, Node, SlopeError } from '../index.ts';
import type { CompileOptions } from '../index.ts';
import { PASS_NAMES } from '../../passes/manager.ts';
import type { PassName } from '../../passes/manager.ts';

export class CliError extends SlopeError {}

export const INSPECT_HELP = `Usage: slope inspect FILE [options]

Compiles the graph built by FILE's default export (a function returning a
node or an array of nodes) and prints it.

Options:
  --after PASS      print the graph or plan after PASS (${PASS_NAMES.join(', ')});
                    repeatable
  --backend NAME    backend whose kernels to print: js (JavaScript source,
                    the default) or wasm (WebAssembly text)
  --no-fuse         compile without fusion, one kernel per op
  --json            print one JSON object: {kernels, passes, dumps}
  -h, --help        show this help
`;

async function loadOutputs(file: string): Promise<Node[]> {
  const path = resolve(file);
  if (!existsSync(path)) throw new CliError(`Error in inspect: file not found: ${path}`);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    throw new CliError(`Error in inspect: loading ${file} failed: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof module.default !== 'function') throw new CliError(`Error in inspect: ${file} must export a default function that builds the graph and returns its output nodes`);
  // An async builder is awaited; an error it raises keeps its own class and message.
  const built = await (module.default as () => unknown)();
  const outputs = Array.isArray(built) ? built : [built];
  if (outputs.length === 0 || !outputs.every((o) => o instanceof Node)) {
    throw new CliError(`Error in inspect: the default export of ${file} must return a Node or an array of Nodes`);
  }
  return outputs as Node[];
}

export async function inspectCommand(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      after: { type: 'string', multiple: true },
      backend: { type: 'string', default: 'js' },
      'no-fuse': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out(INSPECT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new CliError(`Error in inspect: expected one FILE, got ${positionals.length}\n\n${INSPECT_HELP}`);
  const after = values.after ?? [];
  for (const pass of after) {
    if (!(PASS_NAMES as readonly string[]).includes(pass)) throw new CliError(`Error in inspect: unknown pass ${JSON.stringify(pass)} for --after; passes are ${PASS_NAMES.join(', ')}`);
  }
  const backend = values.backend;
  if (backend !== 'js' && backend !== 'wasm') throw new CliError(`Error in inspect: unknown backend ${JSON.stringify(backend)}; available: js, wasm`);

  const outputs = await loadOutputs(positionals[0]!);
  const options: CompileOptions = { backend, dumpAfter: after as PassName[], verify: true };
  if (values['no-fuse']) options.skip = ['fuse'];
  const exe = compile(outputs, options);

  if (values.json) {
    const result = {
      kernels: exe.kernels.map((k) => ({ name: k.name, backend: k.backend, nodes: k.nodes, source: k.source })),
      passes: exe.passes.map((p) => ({ name: p.name, skipped: p.skipped, ms: p.ms, summary: p.summary })),
      dumps: exe.dumps,
    };
    out(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  for (const dump of exe.dumps) out(`== after ${dump.pass}\n${dump.text}\n\n`);
  out(`== kernels (${exe.backend})\n`);
  for (const k of exe.kernels) out(`${k.source}\n\n`);
  out(`== report\n${exe.report()}\n`);
  return 0;
}
