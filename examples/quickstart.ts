// A first tour of slope: build a graph, print it, evaluate it with the
// reference interpreter, take its gradient, compile it to JavaScript kernels
// and run them. Run with `npx tsx examples/quickstart.ts`.

import { compile, evaluate, grad, graph } from '../src/index.ts';

const g = graph();
const x = g.input('x', [4]);
const w = g.param('w', [4], { init: { kind: 'values', values: Float64Array.of(0.5, -1, 2, 0) } });
const b = g.param('b', [4], { init: 'zeros' });
const y = x.mul(w).add(b).leakyRelu(0.2).named('y');
const loss = y.sum().named('loss');

console.log('The graph:');
console.log(g.toString({ outputs: [loss] }));

const feeds = { x: [1, 2, -3, 4] };
const [value] = evaluate([loss], feeds);
console.log(`\nloss = ${value!.data[0]} (reference interpreter, float64)`);

const [dw, db] = grad(loss, [w, b]);
const exe = compile([loss, dw!.named('dw'), db!.named('db')]);
console.log('\nThe gradient graph after simplify:');
console.log(exe.graph.toString({ outputs: [...exe.outputs] }));

const [l, gw, gb] = exe.run(feeds);
console.log(`\ncompiled: loss = ${l![0]}, dw = [${Array.from(gw!).join(', ')}], db = [${Array.from(gb!).join(', ')}]`);
console.log('leakyRelu passes alpha = 0.2 of the gradient where its input is <= 0, so no entry of db is 0.');

console.log(`\n${exe.report()}`);
console.log('\nThe first kernel:');
console.log(exe.kernels[0]!.source);
