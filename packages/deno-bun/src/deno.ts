/**
 * `@switchyard/deno-bun/deno`: the WebSocket server and client on Deno's own TCP and TLS
 * (`Deno.listen`, `Deno.listenTls`, `Deno.connect`, `Deno.connectTls`).
 *
 * ```ts
 * import { WebSocketServer } from '@switchyard/deno-bun/deno';
 * const server = new WebSocketServer({ port: 8080 });
 * server.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
 * ```
 */
import { AcceptError } from '@switchyard/adapter-kit';
import type { BaseWebSocket, ClientTlsOptions, Connect } from './client.js';
import { runtimeClasses } from './entry.js';
import type { BaseWebSocketServer, Listen } from './server.js';
import { DenoTransport } from './deno/transport.js';

export * from './common.js';

/** Errors of one connection that `accept` reports (a peer that reset before we took it): the next accept is fine. */
function isConnectionError(error: unknown): boolean {
  return (
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.InvalidData || // a TLS handshake that failed
    error instanceof Deno.errors.UnexpectedEof
  );
}

const listen: Listen = (options, onTransport, onAcceptError) => {
  const listener = options.tls
    ? Deno.listenTls({ port: options.port, hostname: options.hostname, cert: options.tls.cert, key: options.tls.key })
    : Deno.listen({ port: options.port, hostname: options.hostname });
  let stopped = false;
  // Only `stop()` ends this loop: a reset peer or a TLS failure costs that connection only, and
  // resource exhaustion (EMFILE, ENFILE) backs off from 10 ms to 1 s and retries, reported once
  // per burst.
  const acceptLoop = (async () => {
    let backoff = 0;
    while (!stopped) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopped) return;
        if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
          // The listener was closed under us, not by `stop()`: nothing will be accepted again.
          onAcceptError(new AcceptError(error, true));
          return;
        }
        if (isConnectionError(error)) continue;
        if (backoff === 0) onAcceptError(new AcceptError(error, false));
        backoff = backoff === 0 ? 10 : Math.min(1000, backoff * 2);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        continue;
      }
      backoff = 0;
      noDelay(conn);
      onTransport(new DenoTransport(conn));
    }
  })();
  const address = listener.addr as Deno.NetAddr;
  return {
    port: address.port,
    hostname: address.hostname,
    stop: async () => {
      stopped = true;
      try {
        listener.close();
      } catch {
        // already closed
      }
      // Deno frees the port once the pending accept has been cancelled.
      await acceptLoop;
    },
  };
};

const connect: Connect = async (target, tls?: ClientTlsOptions) => {
  const conn = target.secure
    ? await Deno.connectTls({
        hostname: target.hostname,
        port: target.port,
        ...(tls?.ca !== undefined ? { caCerts: typeof tls.ca === 'string' ? [tls.ca] : [...tls.ca] } : {}),
      })
    : await Deno.connect({ hostname: target.hostname, port: target.port });
  noDelay(conn);
  return new DenoTransport(conn);
};

/** Small frames must not wait for Nagle's algorithm. */
function noDelay(conn: Deno.Conn): void {
  const tcp = conn as Partial<Deno.TcpConn>;
  try {
    tcp.setNoDelay?.(true);
  } catch {
    // TLS connections expose no socket options
  }
}

const classes = runtimeClasses(listen, connect);

/** A WebSocket server on Deno's raw TCP (or TLS with `tls`). Listens as soon as it is constructed. */
export const WebSocketServer = classes.WebSocketServer;
export type WebSocketServer<User = undefined> = BaseWebSocketServer<User>;

/** The WHATWG WebSocket client on Deno's raw TCP, with server-grade options on top. */
export const WebSocket = classes.WebSocket;
export type WebSocket = BaseWebSocket<ClientTlsOptions>;

/** Which runtime this entry point drives. */
export const runtime = 'deno' as const;
