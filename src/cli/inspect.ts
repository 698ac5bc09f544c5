// `slope inspect FILE`: loads a module whose default export builds a graph
// and returns its output nodes, compiles it and prints what each stage
// produced: the graph after a pass, the fusion groups, the kernels' source.

import { compile } from '../index.ts';
import type { CompileOptions } from '../index.ts';
import { PASS_NAMES } from '../../passes/manager.ts';
import type { PassName } from '../../passes/manager.ts';
import { CliError, parseCommandLine } from './args.ts';
import { loadModel } from './load-model.ts';

export { CliError } from './args.ts';

export const INSPECT_HELP = `Usage: slope inspect FILE [options]

Compiles the graph built by FILE's default export and prints it. The
default export receives { batchSize } and returns a node, an array of nodes
or { outputs, loss?, params? }; it may be async. The outputs are compiled.
FILE must load as an ES module: a .mts file, or a .ts file under a
package.json with "type": "module".

Options:
  --batch-size N    batch size passed to FILE's default export (default 1)
  --after PASS      print the graph or plan after PASS (${PASS_NAMES.join(', ')});
                    repeatable
  --backend NAME    backend whose kernels to print: js (JavaScript source,
                    the default) or wasm (WebAssembly text)
  --no-fuse         compile without fusion, one kernel per op
  --json            print one JSON object: {kernels, passes, dumps}
  -h, --help        show this help
`;

export async function inspectCommand(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values, positionals } = parseCommandLine('inspect', argv, {
    allowPositionals: true,
    options: {
      'batch-size': { type: 'string' },
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

  const batchText = values['batch-size'] ?? '1';
  const batchSize = Number(batchText);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new CliError(`Error in inspect: --batch-size must be an integer of at least 1, got ${JSON.stringify(batchText)}`);

  const { outputs } = await loadModel('inspect', positionals[0]!, batchSize);
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
