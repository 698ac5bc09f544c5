// A program is a graph with the outputs a caller wants from it. Passes map
// programs to programs, so a pass that rebuilds the graph returns where each
// output went.

import type { Graph } from '../src/graph/graph.ts';
import type { Node } from '../src/graph/node.ts';

export interface Program {
  graph: Graph;
  outputs: Node[];
}
