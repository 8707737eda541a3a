// Server memory per connection with permessage-deflate, for each window size and memLevel.
//
//   node --expose-gc bench/node/deflate-memory.mjs [--conns 500]
//
// For each setting a fresh server process is started; N clients (ws, offering the same
// parameters) connect, and each exchanges one 4 KiB compressible message both ways so that
// both zlib contexts exist. The server's RSS (after a GC) before and after gives KiB/conn.
// With context takeover the contexts stay for the life of the connection; without it they
// are freed after every message.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--serve') {
  const { switchyard } = await import('./load-switchyard.mjs');
  const deflate = JSON.parse(process.argv[3]);
  const server = new switchyard.WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: deflate, heartbeatInterval: 0 });
  server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.on('listening', () => process.send({ port: server.address().port }));
  process.on('message', (message) => {
    if (message === 'measure') {
      for (let i = 0; i < 3; i++) globalThis.gc?.();
      process.send({ rss: process.memoryUsage().rss });
    }
  });
} else {
  const conns = Number(process.argv[process.argv.indexOf('--conns') + 1]) || 500;
  const settings = [
    { label: 'no permessage-deflate', deflate: false },
    { label: 'windowBits 15, memLevel 8 (zlib defaults)', deflate: { threshold: 0 } },
    { label: 'windowBits 15, memLevel 9', deflate: { threshold: 0, memLevel: 9 } },
    { label: 'windowBits 15, memLevel 4', deflate: { threshold: 0, memLevel: 4 } },
    { label: 'windowBits 15, memLevel 1', deflate: { threshold: 0, memLevel: 1 } },
    { label: 'windowBits 12, memLevel 8', deflate: { threshold: 0, serverMaxWindowBits: 12, clientMaxWindowBits: 12 } },
    { label: 'windowBits 10, memLevel 4', deflate: { threshold: 0, serverMaxWindowBits: 10, clientMaxWindowBits: 10, memLevel: 4 } },
    { label: 'windowBits 9, memLevel 1', deflate: { threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 9, memLevel: 1 } },
    { label: 'no context takeover (both), windowBits 15, memLevel 8', deflate: { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true } },
  ];
  const message = 'switchyard '.repeat(400);
  console.log(`| setting | KiB per connection (${conns} connections, one 4 KiB message each way) |`);
  console.log('| --- | ---: |');
  for (const { label, deflate } of settings) {
    const child = fork(self, ['--serve', JSON.stringify(deflate)], { execArgv: ['--expose-gc'] });
    const ask = (what) => new Promise((resolve) => { child.once('message', resolve); if (what) child.send(what); });
    const { port } = await ask();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = (await ask('measure')).rss;
    const clients = [];
    for (let i = 0; i < conns; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, conns - i) }, () => new Promise((resolve, reject) => {
        const offer = deflate ? {
          serverNoContextTakeover: deflate.serverNoContextTakeover ?? false,
          clientNoContextTakeover: deflate.clientNoContextTakeover ?? false,
          ...(deflate.serverMaxWindowBits ? { serverMaxWindowBits: deflate.serverMaxWindowBits } : {}),
          ...(deflate.clientMaxWindowBits ? { clientMaxWindowBits: deflate.clientMaxWindowBits } : {}),
          threshold: 0,
        } : false;
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: offer });
        clients.push(ws);
        ws.once('open', () => ws.send(message));
        ws.once('message', resolve);
        ws.once('error', reject);
      })));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = (await ask('measure')).rss;
    console.log(`| ${label} | ${((after - before) / 1024 / conns).toFixed(1)} |`);
    for (const ws of clients) ws.terminate();
    child.kill();
  }
}
