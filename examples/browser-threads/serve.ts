// A manual check of the wasm backend's Web Workers in a real browser; it is
// not part of the test suite. It bundles page.js with esbuild (installed as a
// dependency of tsx) and serves it on 127.0.0.1 twice: under /isolated/ with
// the COOP and COEP headers that make a page cross-origin isolated, and
// under /plain/ without them. Each page prints its report here as one JSON
// line. Run:
//
//   npx tsx examples/browser-threads/serve.ts [port]
//   chromium --headless=new --no-sandbox http://127.0.0.1:8765/isolated/
//
// The isolated page should report threads 2, ready 2 and identical true;
// the plain page threads 1.

import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const port = Number(process.argv[2] ?? 8765);
const bundle = await build({
  entryPoints: [fileURLToPath(new URL('page.js', import.meta.url))],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  write: false,
});
const script = bundle.outputFiles[0]!.text;
const html = '<!doctype html><meta charset="utf-8"><title>slope threads</title><script type="module" src="page.js"></script>';
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

const server = createServer((request, response) => {
  const url = request.url ?? '/';
  if (request.method === 'POST' && url === '/result') {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      console.log(body);
      response.end();
    });
    return;
  }
  const match = /^\/(isolated|plain)\/(page\.js)?$/.exec(url);
  if (match === null) {
    response.writeHead(404).end();
    return;
  }
  const headers = match[1] === 'isolated' ? isolation : {};
  if (match[2] === undefined) response.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(html);
  else response.writeHead(200, { ...headers, 'Content-Type': 'text/javascript' }).end(script);
});
server.listen(port, '127.0.0.1', () => {
  console.error(`serving http://127.0.0.1:${port}/isolated/ and http://127.0.0.1:${port}/plain/`);
});
