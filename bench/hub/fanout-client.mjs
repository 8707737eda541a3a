// Load generator for fan-out: opens N WebSocket connections over raw TCP (a minimal client:
// handshake, then only counts unmasked server frames), so nearly all the CPU of a run is the
// server's. Prints one JSON line per phase on stdout.
//   node fanout-client.mjs <port> <connections> <expected messages per connection> [source addresses]
// With K source addresses, connections come from 127.0.0.1 … 127.0.0.K in turn, so more of them
// fit than one address's ephemeral ports allow.
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';

const [port, connections, expectedPerConnection, addresses = 1] = process.argv.slice(2).map(Number);
const clock = () => performance.timeOrigin + performance.now();
const total = connections * expectedPerConnection;
let received = 0;
let first = 0;
let last = 0;

function open(index) {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${1 + (index % addresses)}`, noDelay: true });
    const key = randomBytes(16).toString('base64');
    let handshaken = false;
    let pending = Buffer.alloc(0);
    socket.on('connect', () => {
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (!handshaken) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!pending.subarray(0, 12).toString().includes('101')) return reject(new Error(pending.toString()));
        handshaken = true;
        pending = pending.subarray(end + 4);
        resolve(socket);
      }
      // Count complete frames (server frames are unmasked).
      let offset = 0;
      while (pending.length - offset >= 2) {
        const b1 = pending[offset + 1] & 0x7f;
        let header = 2;
        let length = b1;
        if (b1 === 126) {
          if (pending.length - offset < 4) break;
          length = pending.readUInt16BE(offset + 2);
          header = 4;
        } else if (b1 === 127) {
          if (pending.length - offset < 10) break;
          length = Number(pending.readBigUInt64BE(offset + 2));
          header = 10;
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
        offset += header + length;
        // Only published messages count ({"t":"msg"…): not the hub's `pos` frame on subscribe.
        if (length < 7 || pending[offset - length + 6] !== 0x6d) continue;
        const now = clock();
        if (received === 0) first = now;
        received++;
        if (received === total) {
          last = now;
          console.log(JSON.stringify({ phase: 'done', first, last, received }));
        }
      }
      pending = offset === pending.length ? Buffer.alloc(0) : pending.subarray(offset);
    });
  });
}

const sockets = [];
for (let i = 0; i < connections; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(connections, i + 200); j++) batch.push(open(j));
  sockets.push(...(await Promise.all(batch)));
}
console.log(JSON.stringify({ phase: 'connected', connections: sockets.length }));
process.stdin.on('data', () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
});
