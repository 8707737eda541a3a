// Codec micro-benchmark: @switchyard/codec against ws's own Receiver and Sender (with
// bufferutil, as ws users run it), on the same input, in the same process, interleaved.
//
//   node codec/run.mjs              (from bench/: `pnpm --filter ./bench codec`)
//   taskset -c 1 node codec/run.mjs --json results.json
//   node codec/run.mjs --quick      (fewer repetitions; for a smoke run)
//
// The codec is bundled from packages/codec/src with esbuild at start, so the numbers are for
// the sources as they are now. Every number is the median of several timed repetitions
// (after warm-up ones); ws and the codec alternate within each repetition so that a change
// in machine load hits both alike.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const REPS = QUICK ? 3 : 25;
const WARM = QUICK ? 1 : 3;
const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require = createRequire(path.join(root, 'package.json'));

// ---- the two implementations ----
const esbuild = require('esbuild');
const outDir = mkdtempSync(path.join(tmpdir(), 'codec-bench-'));
const bundle = path.join(outDir, 'codec.mjs');
esbuild.buildSync({
  entryPoints: [path.join(root, 'packages/codec/src/index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  outfile: bundle,
  logLevel: 'warning',
});
const codec = await import(pathToFileURL(bundle).href);
rmSync(outDir, { recursive: true, force: true });

const wsDir = path.dirname(require.resolve('ws'));
const Receiver = require(path.join(wsDir, 'lib/receiver.js'));
const Sender = require(path.join(wsDir, 'lib/sender.js'));
const bufferUtil = require(path.join(wsDir, 'lib/buffer-util.js'));
const wsVersion = require(path.join(wsDir, 'package.json')).version;
let nativeUnmask;
try {
  nativeUnmask = createRequire(path.join(wsDir, 'lib/buffer-util.js'))('bufferutil').unmask;
} catch {
  nativeUnmask = undefined;
}

// ---- measurement ----
function time(fn, ctx) {
  const t0 = process.hrtime.bigint();
  const r = fn(ctx);
  return { ns: Number(process.hrtime.bigint() - t0), ...r };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Runs the variants interleaved, WARM + REPS times; returns per-variant median results. */
function compare(name, variants, setup) {
  const runs = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < WARM + REPS; i++) {
    for (const [key, fn] of Object.entries(variants)) {
      const ctx = setup ? setup() : undefined;
      const r = time(fn, ctx);
      if (i >= WARM) runs[key].push(r);
    }
  }
  const out = {};
  for (const [key, list] of Object.entries(runs)) {
    const ns = median(list.map((r) => r.ns));
    const { bytes, count } = list[0];
    out[key] = { ns, mbPerS: bytes / (ns / 1e9) / 1e6, perS: count ? count / (ns / 1e9) : undefined, bytes, count };
  }
  // Ratios are paired: each repetition compares runs made back to back, then the median is
  // taken, so a change in machine load between repetitions does not skew the comparison.
  const [baseline, ...others] = Object.keys(variants);
  for (const key of others) {
    out[key].ratio = median(runs[baseline].map((r, i) => r.ns / runs[key][i].ns));
  }
  return { name, ...out };
}

// ---- inputs ----
function maskedStream(n, size, opcode) {
  const payload = new Uint8Array(size).fill(0x61); // ASCII: valid UTF-8 for text frames
  const key = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  const frames = [];
  for (let i = 0; i < n; i++) frames.push(codec.encodeFrame({ opcode, fin: true, maskKey: key }, payload));
  return Buffer.concat(frames);
}
const SMALL = 100_000;
const LARGE_FRAMES = (64 * MiB) / (64 * 1024);
const streams = {
  small_binary: { buf: maskedStream(SMALL, 32, 2), frames: SMALL },
  small_text: { buf: maskedStream(SMALL, 32, 1), frames: SMALL, text: true },
  large_binary: { buf: maskedStream(LARGE_FRAMES, 64 * 1024, 2), frames: LARGE_FRAMES },
};

const results = [];

for (const [key, stream] of Object.entries(streams)) {
  const work = Buffer.allocUnsafe(stream.buf.length);
  // Both decoders unmask in place: every repetition starts from pristine bytes (copy not timed).
  const setup = () => {
    stream.buf.copy(work);
    return work;
  };
  const decodeWithCodec = (buf, options) => {
    let got = 0;
    const connection = new codec.Connection({ role: 'server', maxMessageSize: 0, ...options });
    for (let off = 0; off < buf.length; off += CHUNK) {
      connection.receive(buf.subarray(off, Math.min(off + CHUNK, buf.length)));
      got += connection.takeEvents().length;
    }
    if (got !== stream.frames) throw new Error(`codec ${key}: ${got} of ${stream.frames}`);
    return { bytes: buf.length, count: got };
  };
  const variants = {
    ws: (buf) => {
      let got = 0;
      const rx = new Receiver({ isServer: true, binaryType: 'nodebuffer', allowSynchronousEvents: true, maxPayload: 0 });
      // ws's Receiver validates text but hands out a Buffer; a ws application turns it into a
      // string with toString(), which the codec's text event already holds.
      rx.on('message', stream.text ? (data) => (got += data.toString().length >= 0 ? 1 : 0) : () => got++);
      rx.on('error', (e) => {
        throw e;
      });
      for (let off = 0; off < buf.length; off += CHUNK) rx.write(buf.subarray(off, Math.min(off + CHUNK, buf.length)));
      if (got !== stream.frames) throw new Error(`ws ${key}: ${got} of ${stream.frames}`);
      return { bytes: buf.length, count: got };
    },
    codec: (buf) => decodeWithCodec(buf, {}),
  };
  // Frames split across reads are gathered into a buffer from `allocate`: what the Node
  // adapter passes (an uninitialised Buffer) against the zero-filled default.
  if (key === 'large_binary') variants.codec_alloc = (buf) => decodeWithCodec(buf, { allocate: Buffer.allocUnsafe });
  results.push(compare(`decode_${key}`, variants, setup));
}

{
  const big = new Uint8Array(64 * MiB).fill(7);
  const bigBuffer = Buffer.from(big.buffer, big.byteOffset, big.length);
  const key = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  const keyBuffer = Buffer.from(key);
  const variants = {
    bufferutil: () => {
      nativeUnmask(bigBuffer, keyBuffer);
      return { bytes: big.length };
    },
    codec: () => {
      codec.applyMask(big, key);
      return { bytes: big.length };
    },
    codec_js: () => {
      codec.applyMaskJs(big, key);
      return { bytes: big.length };
    },
  };
  if (!nativeUnmask) delete variants.bufferutil;
  results.push(compare('unmask_64m', variants));
}

for (const role of ['server', 'client']) {
  const payload = new Uint8Array(32).fill(0x61);
  const payloadBuffer = Buffer.from(payload);
  const N = SMALL;
  results.push(
    compare(`encode_small_${role}`, {
      ws: () => {
        let n = 0;
        for (let i = 0; i < N; i++) n += Sender.frame(payloadBuffer, { fin: true, opcode: 2, mask: role === 'client', readOnly: false, rsv1: false }).length;
        return { bytes: N * 32, count: N, check: n };
      },
      codec: () => {
        const connection = new codec.Connection({ role, maxMessageSize: 0 });
        let n = 0;
        for (let i = 0; i < N; i++) {
          connection.sendBinary(payload);
          if ((i & 63) === 63) n += connection.takeOutput().length;
        }
        n += connection.takeOutput().length;
        return { bytes: N * 32, count: N, check: n };
      },
    }),
  );
}

// Text: the codec encodes the string into its output; ws's Sender.frame turns it into a Buffer
// first (Buffer.from, from Node's pool), as its send() does whenever it must copy the payload.
for (const role of ['server', 'client']) {
  const text = 'a'.repeat(32);
  const N = SMALL;
  results.push(
    compare(`encode_text_${role}`, {
      ws: () => {
        let n = 0;
        for (let i = 0; i < N; i++) n += Sender.frame(text, { fin: true, opcode: 1, mask: role === 'client', readOnly: false, rsv1: false }).length;
        return { bytes: N * 32, count: N, check: n };
      },
      codec: () => {
        const connection = new codec.Connection({ role, maxMessageSize: 0 });
        let n = 0;
        for (let i = 0; i < N; i++) {
          connection.sendText(text);
          if ((i & 63) === 63) n += connection.takeOutput().length;
        }
        n += connection.takeOutput().length;
        return { bytes: N * 32, count: N, check: n };
      },
    }),
  );
}

// ---- report ----
const fmtRate = (r) => {
  const mb = r.mbPerS >= 1000 ? `${(r.mbPerS / 1000).toFixed(2)} GB/s` : `${r.mbPerS.toFixed(0)} MB/s`;
  if (!r.perS) return mb;
  const fr = r.perS >= 1e6 ? `${(r.perS / 1e6).toFixed(2)} M frames/s` : `${(r.perS / 1e3).toFixed(1)} k frames/s`;
  return `${mb}, ${fr}`;
};
const labels = {
  decode_small_binary: ['decode 100,000 masked 32 B binary frames (64 KiB chunks)', 'ws Receiver', 'ws'],
  decode_small_text: ['decode 100,000 masked 32 B text frames to strings (64 KiB chunks, UTF-8 checked)', 'ws Receiver + toString()', 'ws'],
  decode_large_binary: ['decode 64 MiB of masked 64 KiB binary frames (64 KiB chunks)', 'ws Receiver', 'ws'],
  unmask_64m: ['unmask 64 MiB in place', 'bufferutil.unmask (native SIMD)', 'bufferutil'],
  encode_small_server: ['encode 100,000 unmasked 32 B frames (server)', 'ws Sender.frame', 'ws'],
  encode_small_client: ['encode 100,000 masked 32 B frames (client)', 'ws Sender.frame', 'ws'],
  encode_text_server: ['encode 100,000 small text frames (server): a 32-character string', 'ws Sender.frame(string)', 'ws'],
  encode_text_client: ['encode 100,000 small text frames (client, masked): a 32-character string', 'ws Sender.frame(string)', 'ws'],
};

const head = `codec vs ws ${wsVersion} (bufferutil ${nativeUnmask ? 'loaded' : 'NOT loaded'}), Node ${process.version}, WebAssembly SIMD mask kernel ${codec.simdMaskAvailable ? 'on' : 'off'}; rates are medians of ${REPS} interleaved runs after ${WARM} warm-ups, ratios the median of the per-run ratios; MB = 10^6 bytes, decode MB/s counts frame headers`;
console.log(head);
console.log('');
console.log('| benchmark | baseline | baseline rate | @switchyard/codec | ratio |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const r of results) {
  const [label, baselineName, baselineKey] = labels[r.name];
  const base = r[baselineKey];
  if (!base) continue;
  console.log(`| ${label} | ${baselineName} | ${fmtRate(base)} | ${fmtRate(r.codec)} | ${r.codec.ratio.toFixed(2)}× |`);
  if (r.codec_alloc) console.log(`| ${label}, with allocate: Buffer.allocUnsafe | ${baselineName} | ${fmtRate(base)} | ${fmtRate(r.codec_alloc)} | ${r.codec_alloc.ratio.toFixed(2)}× |`);
  if (r.codec_js) console.log(`| ${label}, JavaScript kernel only | ${baselineName} | ${fmtRate(base)} | ${fmtRate(r.codec_js)} | ${r.codec_js.ratio.toFixed(2)}× |`);
}
const jsonAt = args.indexOf('--json');
if (jsonAt !== -1 && args[jsonAt + 1]) writeFileSync(args[jsonAt + 1], JSON.stringify({ head, results }, null, 2));
