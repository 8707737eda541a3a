// Broadcast of one 1 KiB message to 10,000 connections: ws's loop of `send` against
// switchyard's `server.broadcast` (the frame encoded once) and its own loop of `send`.
//
//   pnpm --filter @switchyard/bench node:broadcast [-- --conns 10000 --rounds 20 --size 1024 --type text|binary --messages 1]
//
// A sink process (pinned to CPU 1) holds the connections and reports when every one of them has
// received a round; the server process (pinned to CPU 0) times its send loop. Reported: medians
// of the send loop's CPU time (user + system: the server's cost per broadcast, the figure least
// disturbed by other jobs on the machine), of its wall time, and of the delivery time (from the
// start of the loop to the last connection's receipt, same machine clock).
import { fork, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const opt = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const conns = Number(opt('conns', 10000));
const rounds = Number(opt('rounds', 20));
const size = Number(opt('size', 1024));
/** text (default): what a chat or JSON feed broadcasts, a string each library must encode; binary: a Buffer. */
const type = opt('type', 'text');
/** Messages per round: with more than one, switchyard's `broadcast` variant batches them with `server.cork`. */
const messages = Number(opt('messages', 1));
const now = () => performance.timeOrigin + performance.now();

async function serve(kind) {
  const bytes = Buffer.alloc(size, 0x61);
  const payload = type === 'text' ? bytes.toString() : bytes;
  let broadcast;
  let count;
  let listen;
  if (kind === 'node-socket-floor') {
    // The floor: no WebSocket library at all, one write of a pre-built frame per socket.
    const http = await import('node:http');
    const { createHash } = await import('node:crypto');
    const sockets = new Set();
    const frame = Buffer.concat([Buffer.from([type === 'text' ? 0x81 : 0x82, 126, size >> 8, size & 255]), bytes]);
    const server = http.createServer();
    server.on('upgrade', (req, socket) => {
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
      sockets.add(socket);
    });
    listen = new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
    broadcast = () => {
      for (let m = 0; m < messages; m++) for (const socket of sockets) socket.write(frame);
    };
    count = () => sockets.size;
  } else if (kind === 'ws') {
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    wss.on('connection', (ws) => ws.on('error', () => undefined));
    listen = new Promise((resolve) => wss.on('listening', () => resolve(wss.address().port)));
    broadcast = () => {
      for (let m = 0; m < messages; m++) for (const client of wss.clients) client.send(payload);
    };
    count = () => wss.clients.size;
  } else {
    const { switchyard } = await import('./load-switchyard.mjs');
    const server = new switchyard.WebSocketServer({ host: '127.0.0.1', port: 0, heartbeatInterval: 0 });
    listen = new Promise((resolve) => server.on('listening', () => resolve(server.address().port)));
    broadcast = kind === 'switchyard-broadcast'
      ? () => server.cork(() => {
          for (let m = 0; m < messages; m++) server.broadcast(payload);
        })
      : () => {
          for (let m = 0; m < messages; m++) for (const client of server.clients) client.send(payload);
        };
    count = () => server.clients.size;
  }
  process.send({ port: await listen });
  process.on('message', (message) => {
    if (message === 'count') return process.send({ count: count() });
    const cpu = process.cpuUsage();
    const start = now();
    broadcast();
    const loopMs = now() - start;
    const used = process.cpuUsage(cpu);
    process.send({ start, loopMs, cpuMs: (used.user + used.system) / 1000 });
  });
}

async function sink(port) {
  const sockets = [];
  let received = 0;
  let target = 0;
  const frameLength = size + (size < 126 ? 2 : size < 65536 ? 4 : 10);
  const connectOne = () =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => {
        socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      let head = true;
      let bytes = 0;
      socket.on('data', (chunk) => {
        if (head) {
          const end = chunk.indexOf('\r\n\r\n');
          if (end < 0) return;
          head = false;
          chunk = chunk.subarray(end + 4);
          resolve();
        }
        bytes += chunk.length;
        while (bytes >= frameLength) {
          bytes -= frameLength;
          received += 1;
          if (received === target) process.send({ done: now() });
        }
      });
      socket.on('error', reject);
      sockets.push(socket);
    });
  for (let i = 0; i < conns; i += 256) await Promise.all(Array.from({ length: Math.min(256, conns - i) }, connectOne));
  process.send({ connected: sockets.length });
  process.on('message', (message) => {
    if (message === 'expect') target += conns;
    if (message === 'exit') {
      for (const socket of sockets) socket.destroy();
      process.exit(0);
    }
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const rows = [];
  for (const kind of ['ws', 'switchyard-send-loop', 'switchyard-broadcast', 'node-socket-floor']) {
    const server = fork(self, ['--serve', kind, '--type', type, '--size', String(size), '--messages', String(messages)], pinned ? { execPath: 'taskset', execArgv: ['-c', '0', process.execPath] } : {});
    const fromServer = () => new Promise((resolve) => server.once('message', resolve));
    const { port } = await fromServer();
    const clients = fork(self, ['--sink', String(port), '--conns', String(conns), '--size', String(size)], pinned ? { execPath: 'taskset', execArgv: ['-c', '1', process.execPath] } : {});
    const fromSink = () => new Promise((resolve) => clients.once('message', resolve));
    await fromSink();
    server.send('count');
    const { count } = await fromServer();
    const loops = [];
    const cpus = [];
    const deliveries = [];
    for (let r = 0; r < rounds; r++) {
      for (let m = 0; m < messages; m++) clients.send('expect');
      const done = fromSink();
      server.send('go');
      const { start, loopMs, cpuMs } = await fromServer();
      const { done: end } = await done;
      loops.push(loopMs);
      cpus.push(cpuMs);
      deliveries.push(end - start);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    rows.push({ kind, count, loop: median(loops), cpu: median(cpus), delivery: median(deliveries) });
    clients.send('exit');
    server.kill();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const ws = rows[0];
  console.log(`\n${messages} × ${size} B ${type} message${messages > 1 ? 's' : ''} to ${conns} connections per round, ${rounds} rounds, medians; × = ws time / this time\n`);
  console.log('| server | connections | send loop, CPU ms | × | send loop, wall ms | × | delivered to all, ms | × |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    console.log(`| ${row.kind} | ${row.count} | ${row.cpu.toFixed(1)} | ${(ws.cpu / row.cpu).toFixed(2)}× | ${row.loop.toFixed(1)} | ${(ws.loop / row.loop).toFixed(2)}× | ${row.delivery.toFixed(1)} | ${(ws.delivery / row.delivery).toFixed(2)}× |`);
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3]);
else if (process.argv[2] === '--sink') await sink(Number(process.argv[3]));
else await main();
