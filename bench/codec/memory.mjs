// Memory per idle codec Connection: the heap (and ArrayBuffer memory) that 10,000 server-role
// connections hold, divided by 10,000. Uses the built package, so build it first:
//
//   pnpm --filter @switchyard/codec build
//   node --expose-gc codec/memory.mjs            (from bench/)
//   node --expose-gc codec/memory.mjs --json out.json
//
// Two cases: connections just created, and connections that each echoed one 1000-byte message
// (received a masked frame, queued the reply, the reply's output taken) while other connections
// kept writing — which shows whether an idle connection still holds memory from its traffic.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../../packages/codec/dist/index.js');
const codec = await import(pathToFileURL(dist).href);
const args = process.argv.slice(2);
const N = 10_000;

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(1);
}

function settle() {
  for (let i = 0; i < 4; i++) globalThis.gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapUsed, arrayBuffers };
}

const key = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
const message = new Uint8Array(1000).fill(0x61);
const frame = codec.encodeFrame({ opcode: 2, fin: true, maskKey: key }, message);

function idle() {
  return new codec.Connection({ role: 'server' });
}

function afterEcho() {
  const connection = new codec.Connection({ role: 'server' });
  connection.receive(frame.slice());
  for (const event of connection.takeEvents()) {
    if (event.type === 'binary') connection.sendBinary(event.data);
  }
  connection.takeOutput();
  return connection;
}

function measure(make) {
  // Warm-up: the same work once, thrown away, so code and shared state are in place.
  for (let i = 0; i < N; i++) make();
  const held = new Array(N).fill(null);
  const before = settle();
  for (let i = 0; i < N; i++) held[i] = make();
  const after = settle();
  const heap = (after.heapUsed - before.heapUsed) / N;
  const buffers = (after.arrayBuffers - before.arrayBuffers) / N;
  if (held.length !== N) throw new Error('unreachable');
  return { heapBytes: heap, arrayBufferBytes: buffers, totalBytes: heap + buffers };
}

const results = { idle: measure(idle), afterEcho: measure(afterEcho) };
const fmt = (b) => `${(b / 1024).toFixed(2)} KiB`;
console.log(`codec ${N.toLocaleString('en')} server Connections, Node ${process.version}; bytes per connection (heapUsed + arrayBuffers deltas after gc)`);
console.log('');
console.log('| case | heap | ArrayBuffers | total |');
console.log('| --- | ---: | ---: | ---: |');
for (const [name, r] of Object.entries(results)) {
  console.log(`| ${name} | ${fmt(r.heapBytes)} | ${fmt(r.arrayBufferBytes)} | ${fmt(r.totalBytes)} |`);
}
const jsonAt = args.indexOf('--json');
if (jsonAt !== -1 && args[jsonAt + 1]) writeFileSync(args[jsonAt + 1], JSON.stringify(results, null, 2));
