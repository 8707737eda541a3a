// The echo server and the fuzzing-client mode shared by the Deno and Bun entries (deno.ts,
// bun.ts): each entry passes only what differs between runtimes — its classes, its arguments,
// how it exits and how it hears signals.
import type { BaseWebSocketServer, WebSocketServerOptions } from '@switchyard/deno-bun';
import { clientOptions, fragmentLimitFor, parseEchoArgs } from './args.mjs';
import { runFuzzingClient } from './fuzzing-client.mjs';

export interface EchoRuntime {
  /** Printed in the `ready` line, e.g. `bun 1.4.5`. */
  readonly name: string;
  readonly argv: readonly string[];
  /** The runtime's WHATWG client class, for `--client`. */
  readonly WebSocket: unknown;
  readonly createServer: (options: WebSocketServerOptions) => BaseWebSocketServer;
  readonly exit: (code: number) => void;
  readonly onSignal: (signal: 'SIGINT' | 'SIGTERM', handler: () => void) => void;
}

/** Echo replies above this many buffered bytes stop the reading of that peer until they drain. */
const ECHO_BACKLOG = 1024 * 1024;

export async function runEcho(runtime: EchoRuntime): Promise<void> {
  const args = parseEchoArgs([...runtime.argv]);
  const limits = args.maxPayload === undefined ? undefined : { maxPayload: args.maxPayload, maxFragments: fragmentLimitFor(args.maxPayload) };
  if (args.client) {
    await runFuzzingClient({ WebSocket: runtime.WebSocket, url: args.url, agent: args.agent, options: clientOptions(args), log: (line: string) => console.log(line) });
    return;
  }
  const server = runtime.createServer({ port: args.port, host: args.host, perMessageDeflate: args.deflate, ...limits });
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
  console.log(`echo server (${runtime.name}${args.deflate ? ', permessage-deflate' : ''}) ready on ws://${args.host}:${server.port}/`);
  // Accept failures for lack of descriptors are logged once per burst and the server goes on;
  // a listener that died ends the process non-zero, for a supervisor to see.
  server.on('error', (error) => {
    console.error(`echo server: ${error.message}`);
    if (isFatal(error)) runtime.exit(1);
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) runtime.exit(1);
    stopping = true;
    setTimeout(() => runtime.exit(0), 3000);
    void server.close(1001, 'server shutting down').then(() => runtime.exit(0));
  };
  runtime.onSignal('SIGINT', stop);
  runtime.onSignal('SIGTERM', stop);
}

/** Everything but a passing accept failure (an `AcceptError` with `fatal: false`). */
function isFatal(error: Error): boolean {
  const accept = error as Error & { code?: unknown; fatal?: unknown };
  return accept.code !== 'ERR_WEBSOCKET_ACCEPT' || accept.fatal === true;
}
