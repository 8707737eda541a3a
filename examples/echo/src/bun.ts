// The echo server on Bun: `pnpm run echo --port 9001 --runtime bun [--deflate] [--max-payload BYTES]`,
// which runs `bun examples/echo/src/bun.ts --port 9001 …` (the package resolves to its built
// dist; `bun --conditions=source` runs the TypeScript sources instead).
import { WebSocket, WebSocketServer } from '@switchyard/deno-bun/bun';
import { fragmentLimitFor, parseEchoArgs } from './args.mjs';
import { runFuzzingClient } from './fuzzing-client.mjs';

const args = parseEchoArgs(process.argv.slice(2));
if (args.client) {
  const options = args.maxPayload === undefined ? undefined : { maxPayload: args.maxPayload, maxFragments: fragmentLimitFor(args.maxPayload) };
  await runFuzzingClient({ WebSocket, url: args.url, agent: args.agent, options, log: (line: string) => console.log(line) });
} else {
  const server = startEcho(args);
  console.log(`echo server (bun ${Bun.version}${args.deflate ? ', permessage-deflate' : ''}) ready on ws://${args.host}:${server.port}/`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => process.exit(0), 3000);
    void server.close(1001, 'server shutting down').then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Echo replies above this many buffered bytes stop the reading of that peer until they drain. */
const ECHO_BACKLOG = 1024 * 1024;

function startEcho(args: { port: number; host: string; deflate: boolean; maxPayload: number | undefined }): WebSocketServer {
  const limits = args.maxPayload === undefined ? {} : { maxPayload: args.maxPayload, maxFragments: fragmentLimitFor(args.maxPayload) };
  const server = new WebSocketServer({ port: args.port, host: args.host, perMessageDeflate: args.deflate, ...limits });
  server.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      const result = ws.send(data, { binary: isBinary });
      // A peer that does not read its echoes is not read either: TCP pushes back on it.
      if (result.bufferedAmount > ECHO_BACKLOG && !ws.readPaused) {
        ws.pause();
        ws.once('drain', () => ws.resume());
      }
    });
  });
  return server;
}
