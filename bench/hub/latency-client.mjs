// Subscriber side of the Redis benchmark: raw TCP WebSocket connections to several nodes;
// for every frame, reads the send time the publisher put in the payload ("t":…) and records
// publish→deliver latency. Prints one JSON line per phase.
//   node latency-client.mjs <expected frames per connection> <port>:<connections> …
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [expectedArg, ...targets] = process.argv.slice(2);
const expectedPerConnection = Number(expectedArg);
const clock = () => performance.timeOrigin + performance.now();
const latencies = [];
let received = 0;
let first = 0;
let last = 0;
let total = 0;
let outOfOrder = 0;
let lost = 0;

function finish(now) {
  last = now;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  console.log(JSON.stringify({ phase: 'done', first, last, received, lost, outOfOrder, p50: at(0.5), p99: at(0.99), max: latencies.at(-1) }));
}

function open(port) {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    let handshaken = false;
    let pending = Buffer.alloc(0);
    let lastSeq = 0;
    socket.on('connect', () =>
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`),
    );
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (!handshaken) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        handshaken = true;
        pending = pending.subarray(end + 4);
        resolve(socket);
      }
      let offset = 0;
      while (pending.length - offset >= 2) {
        const b1 = pending[offset + 1] & 0x7f;
        let header = 2;
        let length = b1;
        if (b1 === 126) {
          if (pending.length - offset < 4) break;
          length = pending.readUInt16BE(offset + 2);
          header = 4;
        }
        if (pending.length - offset < header + length) break;
        const opcode = pending[offset] & 0x0f;
        if (opcode >= 0x8) {
          // Control frame: answer the server's heartbeat pings (masked, zero key), count nothing.
          if (opcode === 0x9 && length <= 125) {
            const pong = Buffer.alloc(6 + length);
            pong[0] = 0x8a;
            pong[1] = 0x80 | length;
            pending.copy(pong, 6, offset + header, offset + header + length);
            socket.write(pong);
          }
          offset += header + length;
          continue;
        }
        const text = pending.toString('latin1', offset + header, offset + header + length);
        offset += header + length;
        const now = clock();
        const gap = /^\{"t":"gap".*"from":(\d+),"to":(\d+)/.exec(text);
        if (gap) {
          // The hub's slow-consumer policy dropped these for this connection: count them as lost.
          const count = Number(gap[2]) - Number(gap[1]) + 1;
          lost += count;
          received += count;
          lastSeq = Number(gap[2]);
          if (received === total) finish(now);
          continue;
        }
        const seq = Number(/"seq":(\d+)/.exec(text)?.[1]);
        if (seq !== lastSeq + 1 && lastSeq !== 0) outOfOrder++;
        lastSeq = seq;
        const sent = Number(/"t":([\d.]+)/.exec(text)?.[1]);
        latencies.push(now - sent);
        if (received === 0) first = now;
        received++;
        if (received === total) finish(now);
      }
      pending = offset === pending.length ? Buffer.alloc(0) : pending.subarray(offset);
    });
  });
}

const sockets = [];
for (const target of targets) {
  const [port, count] = target.split(':').map(Number);
  total += count * expectedPerConnection;
  for (let i = 0; i < count; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 100); j++) batch.push(open(port));
    sockets.push(...(await Promise.all(batch)));
  }
}
console.log(JSON.stringify({ phase: 'connected', connections: sockets.length }));
if (process.env.HUB_BENCH_DEBUG) setInterval(() => console.error(`latency-client: ${received}/${total} (lost ${lost})`), 5000).unref();
createInterface({ input: process.stdin }).on('line', () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
});
