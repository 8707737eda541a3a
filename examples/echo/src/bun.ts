// The echo server on Bun: `pnpm run echo --port 9001 --runtime bun [--deflate] [--max-payload BYTES]`,
// which runs `bun examples/echo/src/bun.ts --port 9001 …` (the package resolves to its built
// dist; `bun --conditions=@switchyard/source` runs the TypeScript sources instead).
import { WebSocket, WebSocketServer } from '@switchyard/deno-bun/bun';
import { runEcho } from './runtime-echo.ts';

await runEcho({
  name: `bun ${Bun.version}`,
  argv: process.argv.slice(2),
  WebSocket,
  createServer: (options) => new WebSocketServer(options),
  exit: (code) => process.exit(code),
  onSignal: (signal, handler) => process.on(signal, handler),
});
