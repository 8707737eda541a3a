// The reference: an echo server on npm `ws` (v8, as installed at the repository root), the way
// its README writes one. WS_NO_BUFFER_UTIL=1 makes ws use its JS mask/unmask.
// Usage: node bench/node/servers/ws-echo.mjs PORT
import { WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? process.env.PORT ?? 9001);
let bufferutil = false;
if (!process.env.WS_NO_BUFFER_UTIL) {
  try {
    await import('bufferutil');
    bufferutil = true;
  } catch {}
}
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`ready ws ${process.version} port ${port} bufferutil=${bufferutil}`));
