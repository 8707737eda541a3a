// The echo server on Deno: `pnpm run echo --port 9001 --runtime deno [--deflate] [--max-payload BYTES]`,
// which runs `deno run -A examples/echo/src/deno.ts --port 9001 …` (no config file needed: the
// package resolves through node_modules to its built dist; `--conditions=@switchyard/source
// --unstable-sloppy-imports` runs the TypeScript sources instead).
import { WebSocket, WebSocketServer } from '@switchyard/deno-bun/deno';
import { runEcho } from './runtime-echo.ts';

await runEcho({
  name: `deno ${Deno.version.deno}`,
  argv: Deno.args,
  WebSocket,
  createServer: (options) => new WebSocketServer(options),
  exit: (code) => Deno.exit(code),
  onSignal: (signal, handler) => Deno.addSignalListener(signal, handler),
});
