// The echo server on Deno: `pnpm run echo --port 9001 --runtime deno [--deflate] [--max-payload BYTES]`,
// which runs `deno run -A examples/echo/src/deno.ts --port 9001 …` (no config file needed: the
// package resolves through node_modules to its built dist; `--conditions=source
// --unstable-sloppy-imports` runs the TypeScript sources instead).
import { WebSocket, WebSocketServer } from '@switchyard/deno-bun/deno';
import { fragmentLimitFor, parseEchoArgs } from './args.mjs';
import { runFuzzingClient } from './fuzzing-client.mjs';

const args = parseEchoArgs(Deno.args);
if (args.client) {
  const options = args.maxPayload === undefined ? undefined : { maxPayload: args.maxPayload, maxFragments: fragmentLimitFor(args.maxPayload) };
  await runFuzzingClient({ WebSocket, url: args.url, agent: args.agent, options, log: (line: string) => console.log(line) });
} else {
  const server = startEcho(args);
  console.log(`echo server (deno ${Deno.version.deno}${args.deflate ? ', permessage-deflate' : ''}) ready on ws://${args.host}:${server.port}/`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) Deno.exit(1);
    stopping = true;
    setTimeout(() => Deno.exit(0), 3000);
    void server.close(1001, 'server shutting down').then(() => Deno.exit(0));
  };
  Deno.addSignalListener('SIGINT', stop);
  Deno.addSignalListener('SIGTERM', stop);
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
