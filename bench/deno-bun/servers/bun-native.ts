// The reference on Bun: Bun.serve's built-in WebSocket server (uWebSockets inside), echoing.
// bun bench/deno-bun/servers/bun-native.ts PORT
const port = Number(process.argv[2] ?? 9001);
Bun.serve({
  hostname: '127.0.0.1',
  port,
  fetch(request, server) {
    if (server.upgrade(request)) return undefined;
    return new Response('upgrade required', { status: 426 });
  },
  websocket: {
    perMessageDeflate: false,
    maxPayloadLength: 64 * 1024 * 1024,
    backpressureLimit: 64 * 1024 * 1024,
    idleTimeout: 960,
    message(ws, message) {
      ws.send(message);
    },
  },
});
console.log(`ready bun-native ${Bun.version} port ${port}`);
