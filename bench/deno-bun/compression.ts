// permessage-deflate compressors compared inside Deno and Bun: node:zlib streams (what the
// adapter uses; sync flush per message, context takeover possible) against the web's
// CompressionStream('deflate-raw') (one stream per message: no context takeover, 15-bit windows).
//   deno run -A bench/deno-bun/compression.ts      bun bench/deno-bun/compression.ts
import * as zlib from 'node:zlib';

const runtime = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined' ? 'deno' : 'bun';
const encoder = new TextEncoder();

function message(size: number, seed: number): Uint8Array {
  let text = '';
  let i = seed;
  while (text.length < size) text += `{"id":${i++},"user":"user-${i % 97}","text":"message number ${i} in the room","ts":${1_700_000_000 + i}}`;
  return encoder.encode(text.slice(0, size));
}

/** node:zlib, one deflater kept across messages (context takeover), Z_SYNC_FLUSH after each. */
function zlibDeflater(): (data: Uint8Array) => Promise<Uint8Array> {
  const deflater = zlib.createDeflateRaw({ level: 1, windowBits: 15, memLevel: 8 });
  return (data) =>
    new Promise((resolve) => {
      const chunks: Uint8Array[] = [];
      const onData = (chunk: Uint8Array): void => {
        chunks.push(chunk);
      };
      deflater.on('data', onData);
      deflater.write(data);
      deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        deflater.off('data', onData);
        resolve(concat(chunks));
      });
    });
}

/** CompressionStream: a new stream per message (it cannot flush without ending). */
async function streamDeflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BlobPart]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

async function measure(name: string, size: number, compress: (data: Uint8Array) => Promise<Uint8Array>): Promise<void> {
  const inputs = Array.from({ length: 64 }, (_, i) => message(size, i * 1000));
  for (let i = 0; i < 50; i++) await compress(inputs[i % inputs.length] as Uint8Array);
  const iterations = size >= 65536 ? 400 : 4000;
  let outBytes = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) outBytes += (await compress(inputs[i % inputs.length] as Uint8Array)).byteLength;
  const ms = performance.now() - start;
  const perMessage = (ms * 1000) / iterations;
  console.log(
    `| ${runtime} | ${name} | ${size} B | ${perMessage.toFixed(1)} µs | ${((size * iterations) / (ms * 1000)).toFixed(0)} MB/s | ${((outBytes / (size * iterations)) * 100).toFixed(1)} % |`,
  );
}

console.log('| runtime | compressor | message | time per message | input MB/s | output size |');
console.log('| --- | --- | ---: | ---: | ---: | ---: |');
for (const size of [1024, 16 * 1024, 64 * 1024]) {
  await measure('node:zlib (context takeover)', size, zlibDeflater());
  await measure('CompressionStream (per message)', size, streamDeflate);
}
