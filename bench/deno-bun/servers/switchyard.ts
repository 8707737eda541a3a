// Our adapter on Deno or Bun, echoing like the references (no extension, 64 MiB messages, no
// heartbeat so nothing but the load runs). Same code on both runtimes, through the root entry.
//   bun --conditions=@switchyard/source bench/deno-bun/servers/switchyard.ts PORT
//   deno run -A --config packages/deno-bun/test/deno/deno.json bench/deno-bun/servers/switchyard.ts PORT
import { WebSocketServer, runtime } from '../../../packages/deno-bun/src/index.js';

const args = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const port = Number(args[0] ?? 9001);
const server = new WebSocketServer({
  host: '127.0.0.1',
  port,
  maxPayload: 64 * 1024 * 1024,
  heartbeatInterval: 0,
  highWaterPolicy: 'queue',
  highWaterMark: 64 * 1024 * 1024,
});
server.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
});
console.log(`ready switchyard-${runtime} port ${server.port}`);
// For profiling (--cpu-prof writes the profile on a normal exit): stop after that many seconds.
const exitAfter = Number(args[1] ?? 0);
if (exitAfter > 0) setTimeout(() => process.exit(0), exitAfter * 1000);
