// The echo server on Node: `pnpm run echo --port 9001 [--deflate] [--max-payload BYTES]`, and
// the fuzzing-client mode (`--client --url … --agent …`). Started by ../run.mjs.
import { AcceptError, WebSocketServer } from '@switchyard/node';
import { clientOptions, fragmentLimitFor, parseEchoArgs } from './args.mjs';
import { runFuzzingClient } from './fuzzing-client.mjs';

/** Echo replies above this many buffered bytes stop the reading of that peer until they drain. */
const ECHO_BACKLOG = 1024 * 1024;

/**
 * Starts the echo server and resolves once it listens.
 * @param {import('./args.mjs').EchoArgs} args
 */
export function startEchoServer(args) {
  const limits = args.maxPayload === undefined ? {} : { maxPayload: args.maxPayload, maxFragments: fragmentLimitFor(args.maxPayload) };
  const server = new WebSocketServer({
    port: args.port,
    host: args.host,
    perMessageDeflate: args.deflate ? {} : false,
    ...limits,
  });
  server.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      const result = ws.send(data, { binary: isBinary });
      // A peer that does not read its echoes is not read either: TCP pushes back on it.
      if (result.bufferedAmount > ECHO_BACKLOG && !ws.readPaused) {
        ws.pause();
        ws.flush().then(
          () => ws.resume(),
          () => undefined,
        );
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Runs the echo server (or the fuzzing client) with command-line flags. */
export async function main(argv = process.argv.slice(2)) {
  const args = parseEchoArgs(argv);
  if (args.client) {
    const { WebSocket } = await import('@switchyard/node');
    await runFuzzingClient({ WebSocket, url: args.url, agent: args.agent, options: clientOptions(args), log: (line) => console.log(line) });
    return;
  }
  const server = await startEchoServer(args);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : args.port;
  console.log(`echo server (node ${process.version}${args.deflate ? ', permessage-deflate' : ''}) ready on ws://${args.host}:${port}/`);
  // Accept failures for lack of descriptors are logged once per burst and the server goes on;
  // any other error of the listening socket ends the process non-zero, for a supervisor to see.
  server.on('error', (error) => {
    console.error(`echo server: ${error.message}`);
    if (!(error instanceof AcceptError) || error.fatal) process.exit(1);
  });
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    server.close(1001, 'server shutting down').then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

