// A WebSocket load generator in one file: raw TCP, hand-made masked frames, closed loop with
// W messages in flight per connection. Runs on Node or (faster) on Bun:
//
//   bun  bench/node/loadgen.mjs --port 9001 --conns 64 --size 32 --window 16 --duration 5
//   node bench/node/loadgen.mjs --port 9001 --idle 10000 --pid SERVER_PID
//
// Prints one JSON line: msgs_per_s, mb_per_s (echoed payload, 10^6 B/s), p50/p99 latency in µs
// (from writing a message to parsing the end of its echo), or, with --idle, kib_per_conn (growth
// of the server's VmRSS, from /proc, per connection held open).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1] && !all[i + 1].startsWith('--') ? all[i + 1] : 'true']);
    return pairs;
  }, []),
);
const port = Number(args.port ?? 9001);
const host = '127.0.0.1';
const conns = Number(args.conns ?? 1);
const size = Number(args.size ?? 32);
const windowSize = Number(args.window ?? 1);
const duration = Number(args.duration ?? 5);
const warmup = Number(args.warmup ?? 1);
const binary = (args.type ?? 'binary') === 'binary';

function handshake(socket) {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    socket.write(`GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      if (!head.subarray(0, 12).toString().includes(' 101')) return reject(new Error(`handshake refused: ${head.subarray(0, 40)}`));
      resolve(head.subarray(end + 4));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

function connect() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, noDelay: true }, () => handshake(socket).then((rest) => resolve({ socket, rest }), reject));
    socket.once('error', reject);
  });
}

/** A masked frame with a non-zero key (a zero key would let a server skip unmasking). */
function maskedFrame(payload) {
  const len = payload.length;
  const headerLength = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.alloc(headerLength + 4 + len);
  frame[0] = 0x80 | (binary ? 0x2 : 0x1);
  if (len < 126) frame[1] = 0x80 | len;
  else if (len < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  let key;
  do key = randomBytes(4);
  while (key.readUInt32BE(0) === 0);
  key.copy(frame, headerLength);
  for (let i = 0; i < len; i++) frame[headerLength + 4 + i] = payload[i] ^ key[i & 3];
  return frame;
}

async function load() {
  const payload = binary ? randomBytes(size) : Buffer.from('x'.repeat(size));
  const frames = Array.from({ length: 64 }, () => maskedFrame(payload));
  const latencies = [];
  let measuring = false;
  let stopped = false;
  let received = 0;
  let receivedBytes = 0;
  const clients = [];
  for (let i = 0; i < conns; i++) clients.push(await connect());
  let next = 0;
  for (const { socket, rest } of clients) {
    const sentAt = [];
    let pending = Buffer.alloc(0);
    let inFlight = 0;
    const send = (count) => {
      if (stopped || count === 0) return;
      const batch = [];
      const now = performance.now();
      for (let i = 0; i < count; i++) {
        batch.push(frames[next++ & 63]);
        sentAt.push(now);
      }
      inFlight += count;
      socket.write(batch.length === 1 ? batch[0] : Buffer.concat(batch));
    };
    const onData = (chunk) => {
      let buffer = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let offset = 0;
      let echoes = 0;
      const now = performance.now();
      for (;;) {
        if (buffer.length - offset < 2) break;
        const b1 = buffer[offset + 1] & 0x7f;
        let headerLength = 2;
        let length = b1;
        if (b1 === 126) {
          if (buffer.length - offset < 4) break;
          length = buffer.readUInt16BE(offset + 2);
          headerLength = 4;
        } else if (b1 === 127) {
          if (buffer.length - offset < 10) break;
          length = Number(buffer.readBigUInt64BE(offset + 2));
          headerLength = 10;
        }
        if (buffer.length - offset < headerLength + length) break;
        const opcode = buffer[offset] & 0x0f;
        const fin = (buffer[offset] & 0x80) !== 0;
        offset += headerLength + length;
        if (opcode >= 8) continue; // pings and the like: not echoes
        if (!fin) continue; // a fragmented echo counts once, at its last frame
        echoes += 1;
        const t = sentAt.shift();
        if (measuring) {
          received += 1;
          receivedBytes += size;
          latencies.push(now - t);
        }
      }
      pending = offset < buffer.length ? buffer.subarray(offset) : Buffer.alloc(0);
      inFlight -= echoes;
      send(echoes);
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    if (rest.length) onData(rest);
    send(windowSize);
  }
  await new Promise((resolve) => setTimeout(resolve, warmup * 1000));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, duration * 1000));
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  stopped = true;
  for (const { socket } of clients) socket.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 1000) : null);
  return {
    mode: 'load', conns, size, window: windowSize, type: binary ? 'binary' : 'text',
    msgs_per_s: Math.round(received / seconds), mb_per_s: +(receivedBytes / seconds / 1e6).toFixed(1),
    p50_us: pct(0.5), p99_us: pct(0.99), runtime: typeof Bun === 'undefined' ? `node ${process.version}` : `bun ${Bun.version}`,
  };
}

function vmRssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
}

async function idle() {
  const count = Number(args.idle);
  const pid = Number(args.pid);
  const before = vmRssKiB(pid);
  const clients = [];
  for (let i = 0; i < count; i += 256) {
    const batch = await Promise.all(Array.from({ length: Math.min(256, count - i) }, () => connect()));
    clients.push(...batch);
  }
  await new Promise((resolve) => setTimeout(resolve, Number(args.settle ?? 3) * 1000));
  const after = vmRssKiB(pid);
  for (const { socket } of clients) socket.destroy();
  return { mode: 'idle', conns: count, rss_before_kib: before, rss_after_kib: after, kib_per_conn: +((after - before) / count).toFixed(2) };
}

const result = args.idle ? await idle() : await load();
console.log(JSON.stringify(result));
process.exit(0);
