/**
 * `@switchyard/deno-bun/bun`: the WebSocket server and client on Bun's own TCP and TLS
 * (`Bun.listen`, `Bun.connect`).
 *
 * ```ts
 * import { WebSocketServer } from '@switchyard/deno-bun/bun';
 * const server = new WebSocketServer({ port: 8080 });
 * server.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
 * ```
 */
import type { BaseWebSocket, ClientTlsOptions, Connect } from './client.js';
import { runtimeClasses } from './entry.js';
import type { BaseWebSocketServer, Listen } from './server.js';
import { bunSocketHandlers, type BunSocketData, type BunTransport } from './bun/transport.js';

export * from './common.js';

const listen: Listen = (options, onTransport) => {
  const listener = Bun.listen<BunSocketData>({
    hostname: options.hostname,
    port: options.port,
    ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
    data: undefined,
    socket: bunSocketHandlers(onTransport),
  });
  return {
    port: listener.port,
    hostname: listener.hostname,
    stop: async () => listener.stop(false),
  };
};

const connect: Connect = (target, tls) =>
  new Promise<BunTransport>((resolve, reject) => {
    const handlers = bunSocketHandlers((transport) => resolve(transport));
    Bun.connect<BunSocketData>({
      hostname: target.hostname,
      port: target.port,
      data: undefined,
      ...(target.secure
        ? {
            tls: {
              serverName: target.hostname,
              ...(tls?.ca !== undefined ? { ca: typeof tls.ca === 'string' ? tls.ca : [...tls.ca] } : {}),
              ...(tls?.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
            },
          }
        : {}),
      socket: {
        ...handlers,
        connectError: (_socket, error) => reject(error),
      },
    }).catch(reject);
  });

const classes = runtimeClasses(listen, connect);

/** A WebSocket server on Bun's raw TCP (or TLS with `tls`). Listens as soon as it is constructed. */
export const WebSocketServer = classes.WebSocketServer;
export type WebSocketServer<User = undefined> = BaseWebSocketServer<User>;

/** The WHATWG WebSocket client on Bun's raw TCP, with server-grade options on top. */
export const WebSocket = classes.WebSocket;
export type WebSocket = BaseWebSocket<ClientTlsOptions>;

/** Which runtime this entry point drives. */
export const runtime = 'bun' as const;
