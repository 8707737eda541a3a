import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PreparedMessage, UpgradeRequest } from '@switchyard/codec';
import {
  ServerCore,
  httpResponse,
  type AuthResult,
  type SendData,
  type ServerPolicyOptions,
  type WebSocketConnection,
} from '@switchyard/adapter-kit';
import { watchAcceptErrors } from './accept-errors.js';
import { asBuffer, plainView } from './data.js';
import { requestHeaders } from './headers.js';
import { refuse } from './http-response.js';
import type { ConnectionOptions, ServerDeflateOptions } from './options.js';
import { NodeSocketTransport } from './transport.js';

export type { AuthAccept, AuthReject, AuthRejectClose, AuthRejectHttp, AuthResult, HeadersInit } from '@switchyard/adapter-kit';

export interface WebSocketServerOptions<User = undefined> extends ConnectionOptions, ServerPolicyOptions {
  /** Listen on this port (standalone mode: the server creates its own HTTP server). */
  readonly port?: number;
  /** Interface to listen on in standalone mode. Default: all interfaces (as node:http). */
  readonly host?: string;
  readonly backlog?: number;
  /** Attach to an existing http/https server (its `upgrade` events). */
  readonly server?: http.Server | https.Server;
  /** Create no HTTP server: call `handleUpgrade` yourself (Express, Fastify, Koa…). */
  readonly noServer?: boolean;
  /** Only accept upgrades for this path (the query string is ignored). Default: any path. */
  readonly path?: string;
  /**
   * Admission: runs after the request passed the protocol checks and before the 101. Return
   * `{ ok: true, user }` to accept or `{ ok: false, status }` to refuse. Exceptions refuse with 500.
   */
  readonly authenticate?: (request: http.IncomingMessage) => AuthResult<User> | Promise<AuthResult<User>>;
  /** Subprotocols in order of preference, or a function choosing among those offered. */
  readonly protocols?: readonly string[] | ((offered: readonly string[], request: http.IncomingMessage) => string | undefined);
  /**
   * From the `upgrade` event to the 101 (authentication included), in ms; then 408. In
   * standalone mode the same value bounds the request head (node:http's `headersTimeout`).
   * Default 10 000.
   */
  readonly handshakeTimeout?: number;
  /** permessage-deflate: off by default. `true` accepts with the RFC defaults. */
  readonly perMessageDeflate?: boolean | ServerDeflateOptions;
}

export interface WebSocketServerEvents<User> {
  /** A new connection; `user` is what `authenticate` returned (also `socket.user`). */
  connection: [socket: WebSocketConnection<User>, request: http.IncomingMessage, user: User];
  listening: [];
  /** Errors of the server itself (the listening socket, a failing hook). */
  error: [error: Error];
  /** The server is closed and every connection is over. */
  close: [];
}

/**
 * A WebSocket server on node:http's `upgrade` event. Admission, the handshake timeout, the
 * connections, broadcast and shutdown are the shared server core's (the same on Deno and Bun);
 * this class is the node:http glue: modes, paths, the listening socket and its errors.
 */
export class WebSocketServer<User = undefined> extends EventEmitter<WebSocketServerEvents<User>> {
  /** The HTTP server in standalone and attached modes. */
  readonly httpServer: http.Server | https.Server | undefined;
  readonly #core: ServerCore<User, http.IncomingMessage>;
  readonly #path: string | undefined;
  readonly #binaryView: (bytes: Uint8Array) => Uint8Array;
  readonly #ownsServer: boolean;
  readonly #onUpgrade: ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: WebSocketServerOptions<User>, onListening?: () => void) {
    super();
    const modes = [options.port !== undefined, options.server !== undefined, options.noServer === true].filter(Boolean).length;
    if (modes !== 1) throw new TypeError('exactly one of `port`, `server` or `noServer: true` must be given');
    this.#core = new ServerCore<User, http.IncomingMessage>(options, (error) => this.#emitError(error));
    this.#path = options.path;
    this.#binaryView = options.binaryType === 'buffer' ? asBuffer : plainView;

    if (options.noServer) {
      this.#ownsServer = false;
      this.httpServer = undefined;
      this.#onUpgrade = undefined;
      return;
    }
    this.#onUpgrade = (req, socket, head) => {
      if (!this.#matchesPath(req)) {
        // Another listener on a shared server may own this path; answer only when none does.
        if (this.httpServer?.listenerCount('upgrade') === 1) refuse(socket, httpResponse(404, 'No WebSocket endpoint at this path.\n'));
        return;
      }
      this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req, ws.user));
    };
    if (options.server) {
      this.#ownsServer = false;
      this.httpServer = options.server;
      this.httpServer.on('upgrade', this.#onUpgrade);
      return;
    }
    this.#ownsServer = true;
    const policy = this.#core.policy;
    const server = http.createServer({
      maxHeaderSize: policy.maxHeaderSize,
      requireHostHeader: true,
      headersTimeout: policy.handshakeTimeout,
      requestTimeout: policy.handshakeTimeout,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, policy.handshakeTimeout)),
      noDelay: true,
    });
    // One more than the limit, so that the codec sees the excess and answers 431 (node:http
    // would silently drop the extra lines instead).
    server.maxHeadersCount = policy.maxHeaders + 1;
    server.on('request', (_req, res) => {
      const body = 'This is a WebSocket endpoint: send an upgrade request.\n';
      res.writeHead(426, { Upgrade: 'websocket', Connection: 'Upgrade, close', 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket));
    server.on('upgrade', this.#onUpgrade);
    watchAcceptErrors(
      server,
      (error) => this.#emitError(error),
      (error) => this.emit('error', error),
    );
    server.on('listening', () => this.emit('listening'));
    if (onListening) this.once('listening', onListening);
    this.httpServer = server;
    server.listen(options.port, options.host, options.backlog);
  }

  /** The open connections. */
  get clients(): ReadonlySet<WebSocketConnection<User>> {
    return this.#core.clients;
  }

  /** The port the server listens on (0 before it listens, or in noServer mode). */
  get port(): number {
    const address = this.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  /** The listening address (standalone and attached modes). */
  address(): AddressInfo | string | null {
    return this.httpServer?.address() ?? null;
  }

  /**
   * Completes the upgrade of `req` on `socket` (noServer mode, or custom routing). `callback`
   * receives the connection after the 101 was written; a refused request gets its HTTP answer
   * and `callback` is not called.
   */
  handleUpgrade(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (socket: WebSocketConnection<User>, request: http.IncomingMessage) => void,
  ): void {
    const onEarlyError = (): void => undefined;
    socket.on('error', onEarlyError);
    const refusal = this.#core.capacityRefusal();
    if (refusal) return refuse(socket, refusal);
    const handshake = this.#core.beginHandshake((response) => refuse(socket, response));
    const onClose = (): void => void handshake.finish();
    socket.once('close', onClose);
    const upgrade: UpgradeRequest = {
      method: req.method ?? '',
      version: req.httpVersion === '1.1' ? '1.1' : '1.0',
      headers: requestHeaders(req),
    };
    void this.#core.admit(upgrade, req, handshake, {
      refuse: (response) => refuse(socket, response),
      accept: (admission) => {
        socket.off('close', onClose);
        if (socket.destroyed || !socket.writable) return;
        const transport = new NodeSocketTransport(socket);
        socket.off('error', onEarlyError);
        this.#core.open({
          transport,
          accepted: admission.decision,
          user: admission.user,
          closeWith: admission.closeWith,
          url: req.url ?? '/',
          initial: head,
          binaryView: this.#binaryView,
          announce: (ws) => callback(ws, req),
        });
      },
    });
  }

  /**
   * Sends one message to every open connection (or those `filter` keeps), encoding the frame
   * once. Returns how many connections accepted it.
   */
  broadcast(data: SendData | PreparedMessage, filter?: (socket: WebSocketConnection<User>) => boolean): number {
    return this.#core.broadcast(data, filter, asBufferChunks);
  }

  /**
   * Runs `callback` with every connection's writes held back, then writes each connection's
   * batch at once: several broadcasts (or sends) in the callback cost one syscall per
   * connection instead of one per message and connection.
   */
  cork(callback: () => void): void {
    this.#core.cork(callback);
  }

  /**
   * Graceful shutdown: stop accepting (handshakes in progress get 503), send 1001 to every
   * peer, wait for their close frames (or each connection's close timeout), then free the
   * port. Messages accepted by `send` before are written before the close frame.
   */
  close(code = 1001, reason = 'server shutting down'): Promise<void> {
    if (this.#closing) return this.#closing;
    const stopListening = new Promise<void>((done) => {
      if (this.#onUpgrade && this.httpServer) this.httpServer.off('upgrade', this.#onUpgrade);
      if (this.#ownsServer && this.httpServer) {
        // Also when not listening (yet or any more): the callback then runs at once.
        this.httpServer.close(() => done());
        this.httpServer.closeIdleConnections();
      } else done();
    });
    this.#closing = Promise.all([stopListening, this.#core.closeAll(code, reason)]).then(() => {
      this.emit('close');
    });
    return this.#closing;
  }

  #matchesPath(req: http.IncomingMessage): boolean {
    if (this.#path === undefined) return true;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    return (query === -1 ? url : url.slice(0, query)) === this.#path;
  }

  #emitError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * The same frame with its chunks as Buffer views: socket.write would otherwise wrap a plain
 * Uint8Array into a new Buffer for every one of the connections.
 */
function asBufferChunks(message: PreparedMessage): PreparedMessage {
  if (message.chunks.every((chunk) => Buffer.isBuffer(chunk))) return message;
  return { ...message, chunks: message.chunks.map((chunk) => asBuffer(chunk)) };
}

/** What node:http answers by default, kept when a listener takes over: the server must never crash. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  refuse(socket, httpResponse(status));
}
