import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  Connection,
  prepareMessage,
  validateUpgradeRequest,
  type HeaderList,
  type PreparedMessage,
  type UpgradeDecision,
  type UpgradeServerOptions,
} from '@switchyard/codec';
import { answerHeartbeat } from '@switchyard/wire';
import {
  ConcurrencyLimiter,
  HOLD_WRITES,
  RELEASE_WRITES,
  WebSocketConnection,
  ZlibCompressor,
  createHeartbeat,
  toBytes,
  type ConnectionHeartbeat,
  type SendData,
} from '@switchyard/adapter-kit';
import { asBuffer, plainView } from './data.js';
import { NodeSocketTransport } from './transport.js';
import { headerRecordToList, requestHeaders, type HeadersInit } from './headers.js';

export type { HeadersInit } from './headers.js';
import { formatHttpResponse, refuse } from './http-response.js';
import { resolveConnectionOptions, type ConnectionOptions, type ResolvedConnectionOptions, type ServerDeflateOptions } from './options.js';
import type { AuthResult } from '@switchyard/adapter-kit';

export type { AuthAccept, AuthReject, AuthResult } from '@switchyard/adapter-kit';

export interface WebSocketServerOptions<User = undefined> extends ConnectionOptions {
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
  /** Allowed `Origin`s (others get 403): a list, or a function. Default: any origin. */
  readonly origins?: readonly string[] | ((origin: string | undefined) => boolean);
  /** Subprotocols in order of preference, or a function choosing among those offered. */
  readonly protocols?: readonly string[] | ((offered: readonly string[], request: http.IncomingMessage) => string | undefined);
  /** Connections open at once (handshakes included); beyond it: 503. Default: unlimited. */
  readonly maxConnections?: number;
  /** From the upgrade request to the 101 (authentication included), in ms. Default 10 000. */
  readonly handshakeTimeout?: number;
  /** Largest request head in bytes (standalone mode; node:http answers 431 above it). Default 16 384. */
  readonly maxHeaderSize?: number;
  /** Most header lines in an upgrade request; more get 431. Default 128. */
  readonly maxHeaders?: number;
  /** permessage-deflate: off by default. `true` accepts with the RFC defaults. */
  readonly perMessageDeflate?: boolean | ServerDeflateOptions;
  /** Headers added to every 101 response. */
  readonly extraHeaders?: HeadersInit;
  /**
   * Answer application-level heartbeat pings (text messages) before they reach the app.
   * `true` answers the JSON pings of @switchyard/client (`{"t":"ping","ts":…}` → `{"t":"pong","ts":…}`);
   * a function returns the reply for its own format, or `undefined` for an ordinary message.
   * Default: off.
   */
  readonly appHeartbeat?: boolean | ((text: string) => string | undefined);
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

const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
const DEFAULT_MAX_HEADERS = 128;
const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;

/**
 * A WebSocket server on node:http's `upgrade` event. The handshake, the frames and every limit
 * are the codec's; this class owns the sockets, the timers and the compressors.
 */
export class WebSocketServer<User = undefined> extends EventEmitter<WebSocketServerEvents<User>> {
  /** The HTTP server in standalone and attached modes. */
  readonly httpServer: http.Server | https.Server | undefined;
  private readonly connections = new Set<WebSocketConnection<User>>();
  private readonly options: WebSocketServerOptions<User>;
  private readonly connectionOptions: ResolvedConnectionOptions;
  private readonly heartbeat: ConnectionHeartbeat | undefined;
  private readonly intercept: ((text: string) => string | undefined) | undefined;
  private readonly binaryView: (bytes: Uint8Array) => Uint8Array;
  private readonly forget = (connection: WebSocketConnection<unknown>): void => {
    this.connections.delete(connection as WebSocketConnection<User>);
  };
  private readonly deflate: ServerDeflateOptions | undefined;
  private readonly limiter: ConcurrencyLimiter | undefined;
  private readonly upgradeOptions: UpgradeServerOptions;
  private readonly handshakeTimeout: number;
  private readonly ownsServer: boolean;
  private readonly onUpgrade: ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => void) | undefined;
  private handshakes = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | undefined;

  constructor(options: WebSocketServerOptions<User>, onListening?: () => void) {
    super();
    const modes = [options.port !== undefined, options.server !== undefined, options.noServer === true].filter(Boolean).length;
    if (modes !== 1) throw new TypeError('exactly one of `port`, `server` or `noServer: true` must be given');
    this.options = options;
    this.connectionOptions = resolveConnectionOptions(options, 'server');
    this.heartbeat = createHeartbeat(this.connectionOptions);
    this.intercept = options.appHeartbeat === true ? answerHeartbeat : options.appHeartbeat || undefined;
    this.binaryView = this.connectionOptions.binaryType === 'buffer' ? asBuffer : plainView;
    this.handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    this.deflate = options.perMessageDeflate === true ? {} : options.perMessageDeflate || undefined;
    this.limiter = this.deflate ? new ConcurrencyLimiter(this.deflate.concurrencyLimit ?? 10) : undefined;
    this.upgradeOptions = {
      origins: options.origins,
      maxHeaders: options.maxHeaders ?? DEFAULT_MAX_HEADERS,
      extraHeaders: options.extraHeaders ? toHeaderList(options.extraHeaders) : undefined,
      perMessageDeflate: this.deflate
        ? {
            serverNoContextTakeover: this.deflate.serverNoContextTakeover,
            clientNoContextTakeover: this.deflate.clientNoContextTakeover,
            serverMaxWindowBits: this.deflate.serverMaxWindowBits,
            clientMaxWindowBits: this.deflate.clientMaxWindowBits,
          }
        : false,
    };
    // Fail fast on invalid options (bad protocol names, deflate values, extra headers).
    validateUpgradeRequest(
      { method: 'GET', version: '1.1', headers: [] },
      { ...this.upgradeOptions, protocols: Array.isArray(options.protocols) ? options.protocols : undefined },
    );

    if (options.noServer) {
      this.ownsServer = false;
      this.httpServer = undefined;
      this.onUpgrade = undefined;
      return;
    }
    this.onUpgrade = (req, socket, head) => {
      if (!this.matchesPath(req)) {
        // Another listener on a shared server may own this path; answer only when none does.
        if (this.httpServer?.listenerCount('upgrade') === 1) refuse(socket, formatHttpResponse(404));
        return;
      }
      this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req, ws.user));
    };
    if (options.server) {
      this.ownsServer = false;
      this.httpServer = options.server;
      this.httpServer.on('upgrade', this.onUpgrade);
      return;
    }
    this.ownsServer = true;
    const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
    const server = http.createServer({
      maxHeaderSize: options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE,
      requireHostHeader: true,
      headersTimeout: this.handshakeTimeout,
      requestTimeout: this.handshakeTimeout,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, this.handshakeTimeout)),
      noDelay: true,
    });
    // One more than the limit, so that the codec sees the excess and answers 431 (node:http
    // would silently drop the extra lines instead).
    server.maxHeadersCount = maxHeaders + 1;
    server.on('request', (_req, res) => {
      const body = 'This is a WebSocket endpoint: send an upgrade request.\n';
      res.writeHead(426, { Upgrade: 'websocket', Connection: 'Upgrade, close', 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket));
    server.on('upgrade', this.onUpgrade);
    server.on('error', (error) => this.emit('error', error));
    server.on('listening', () => this.emit('listening'));
    if (onListening) this.once('listening', onListening);
    this.httpServer = server;
    server.listen(options.port, options.host, options.backlog);
  }

  /** The open connections. */
  get clients(): ReadonlySet<WebSocketConnection<User>> {
    return this.connections;
  }

  /** The listening address (standalone and attached modes). */
  /** The port the server listens on (0 before it listens, or in noServer mode). */
  get port(): number {
    const address = this.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

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
    if (this.state !== 'open') return refuse(socket, formatHttpResponse(503, [], 'The server is shutting down.\n'));
    const max = this.options.maxConnections ?? Number.POSITIVE_INFINITY;
    if (this.connections.size + this.handshakes >= max) {
      return refuse(socket, formatHttpResponse(503, [['Retry-After', '1']], 'Too many connections.\n'));
    }
    const headers = requestHeaders(req);
    let decision: UpgradeDecision;
    try {
      decision = validateUpgradeRequest(
        { method: req.method ?? '', version: req.httpVersion === '1.1' ? '1.1' : '1.0', headers },
        this.upgradeOptionsFor(req),
      );
    } catch (error) {
      this.emitError(error);
      return refuse(socket, formatHttpResponse(500));
    }
    if (!decision.ok) return refuse(socket, decision.response);
    if (this.options.authenticate === undefined) {
      this.accept(req, socket, head, decision, undefined as User, onEarlyError, callback);
      return;
    }
    this.handshakes += 1;
    let finished = false;
    const timer = setTimeout(() => {
      finished = true;
      this.handshakes -= 1;
      refuse(socket, formatHttpResponse(408, [], 'Handshake timeout.\n'));
    }, this.handshakeTimeout);
    const onClose = (): void => {
      if (finished) return;
      finished = true;
      this.handshakes -= 1;
      clearTimeout(timer);
    };
    socket.once('close', onClose);
    const authenticate = this.options.authenticate;
    void (async () => {
      let result: AuthResult<User>;
      try {
        result = await authenticate(req);
      } catch (error) {
        result = { ok: false, status: 500 };
        this.emitError(error);
      }
      if (finished) return;
      finished = true;
      this.handshakes -= 1;
      clearTimeout(timer);
      socket.off('close', onClose);
      if (this.state !== 'open') return refuse(socket, formatHttpResponse(503));
      if (!result.ok) {
        const status = Number.isInteger(result.status) && result.status >= 400 && result.status <= 599 ? result.status : 403;
        return refuse(socket, formatHttpResponse(status, result.headers ? toHeaderList(result.headers) : [], result.body ?? ''));
      }
      let accepted: UpgradeDecision = decision;
      if (result.headers !== undefined) {
        try {
          const extra = [...(this.upgradeOptions.extraHeaders ?? []), ...toHeaderList(result.headers)];
          accepted = validateUpgradeRequest(
            { method: req.method ?? '', version: '1.1', headers },
            { ...this.upgradeOptionsFor(req), extraHeaders: extra },
          );
        } catch (error) {
          this.emitError(error);
          return refuse(socket, formatHttpResponse(500));
        }
        if (!accepted.ok) return refuse(socket, accepted.response);
      }
      if (accepted.ok) this.accept(req, socket, head, accepted, result.user, onEarlyError, callback);
    })();
  }

  /**
   * Sends one message to every open connection (or those `filter` keeps), encoding the frame
   * once. Returns how many connections accepted it.
   */
  broadcast(data: SendData | PreparedMessage, filter?: (socket: WebSocketConnection<User>) => boolean): number {
    const message = asBufferChunks(isPrepared(data) ? data : prepareMessage(typeof data === 'string' ? data : toBytes(data)));
    let accepted = 0;
    for (const socket of this.connections) {
      if (filter && !filter(socket)) continue;
      if (socket.sendPrepared(message).status !== 'dropped') accepted += 1;
    }
    return accepted;
  }

  /**
   * Runs `callback` with every connection's writes held back, then writes each connection's
   * batch at once: several broadcasts (or sends) in the callback cost one syscall per
   * connection instead of one per message and connection.
   */
  cork(callback: () => void): void {
    const held = [...this.connections];
    for (const socket of held) socket[HOLD_WRITES]();
    try {
      callback();
    } finally {
      for (const socket of held) socket[RELEASE_WRITES]();
    }
  }

  /**
   * Graceful shutdown: stop accepting, send 1001 to every peer, wait for their close frames (or
   * each connection's close timeout), then free the port. Messages accepted by `send` before
   * are written before the close frame.
   */
  close(code = 1001, reason = 'server shutting down'): Promise<void> {
    if (this.closing) return this.closing;
    this.state = 'closing';
    this.closing = new Promise<void>((resolve) => {
      const stopListening = new Promise<void>((done) => {
        if (this.onUpgrade && this.httpServer) this.httpServer.off('upgrade', this.onUpgrade);
        if (this.ownsServer && this.httpServer) {
          // Also when not listening (yet or any more): the callback then runs at once.
          this.httpServer.close(() => done());
          this.httpServer.closeIdleConnections();
        } else done();
      });
      const connectionsClosed = Promise.all(
        [...this.connections].map(
          (socket) =>
            new Promise<void>((done) => {
              socket.once('close', () => done());
              socket.close(code, reason);
            }),
        ),
      );
      void Promise.all([stopListening, connectionsClosed]).then(() => {
        this.state = 'closed';
        resolve();
        this.emit('close');
      });
    });
    return this.closing;
  }

  private upgradeOptionsFor(req: http.IncomingMessage): UpgradeServerOptions {
    const choose = this.options.protocols;
    if (choose === undefined) return this.upgradeOptions;
    return { ...this.upgradeOptions, protocols: typeof choose === 'function' ? (offered) => choose(offered, req) : choose };
  }

  private accept(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    decision: Extract<UpgradeDecision, { ok: true }>,
    user: User,
    onEarlyError: () => void,
    callback: (socket: WebSocketConnection<User>, request: http.IncomingMessage) => void,
  ): void {
    if (socket.destroyed || !socket.writable) return;
    const extensions = decision.responseHeaders.find(([name]) => name.toLowerCase() === 'sec-websocket-extensions')?.[1] ?? '';
    socket.write(decision.response);
    const ws = new WebSocketConnection<User>({
      transport: new NodeSocketTransport(socket),
      role: 'server',
      options: this.connectionOptions,
      deflate:
        decision.deflate && this.deflate && this.limiter
          ? { params: decision.deflate, options: this.deflate, limiter: this.limiter }
          : undefined,
      protocol: decision.protocol ?? '',
      extensions,
      url: req.url ?? '/',
      user,
      binaryView: this.binaryView,
      intercept: this.intercept,
      heartbeat: this.heartbeat,
      onClosed: this.forget,
    });
    socket.off('error', onEarlyError);
    this.connections.add(ws);
    try {
      callback(ws, req);
    } catch (error) {
      // A bug in the application's connection handler ends this connection, not the process.
      this.emitError(error);
      if (ws.readyState === 'open') ws.close(1011, 'internal error');
    }
    ws.start(head);
  }

  private matchesPath(req: http.IncomingMessage): boolean {
    if (this.options.path === undefined) return true;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    return (query === -1 ? url : url.slice(0, query)) === this.options.path;
  }

  private emitError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}

function isPrepared(data: SendData | PreparedMessage): data is PreparedMessage {
  return typeof data === 'object' && data !== null && 'chunks' in data && 'payload' in data && 'binary' in data;
}

/**
 * The same frame with its chunks as Buffer views: socket.write would otherwise wrap a plain
 * Uint8Array into a new Buffer for every one of the connections.
 */
function asBufferChunks(message: PreparedMessage): PreparedMessage {
  if (message.chunks.every((chunk) => Buffer.isBuffer(chunk))) return message;
  return { ...message, chunks: message.chunks.map((chunk) => asBuffer(chunk)) };
}

function toHeaderList(headers: HeadersInit): HeaderList {
  return Array.isArray(headers) ? (headers as HeaderList) : headerRecordToList(headers as Record<string, string | readonly string[] | undefined>);
}

/** What node:http answers by default, kept when a listener takes over: the server must never crash. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  refuse(socket, formatHttpResponse(status));
}
