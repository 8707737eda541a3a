import {
  Connection,
  HttpHeadParser,
  prepareMessage,
  validateUpgradeRequest,
  type DeflateServerOptions,
  type HeaderList,
  type HttpRequestHead,
  type PreparedMessage,
  type UpgradeDecision,
  type UpgradeServerOptions,
} from '@switchyard/codec';
import {
  ConcurrencyLimiter,
  ZlibCompressor,
  resolveConnectionOptions,
  toBytes,
  type AuthResult,
  type ServerDeflateOptions,
  type ConnectionOptions,
  type HeadersInit,
  type ResolvedConnectionOptions,
  type SendData,
} from '@switchyard/adapter-kit';
import {
  TypedEmitter,
  WebSocketConnection,
  concatChunks,
  createHeartbeat,
  totalLength,
  type ConnectionHeartbeat,
  type Transport,
  type TransportHandler,
} from '@switchyard/adapter-kit';
import { headerValue, isWebSocketUpgrade, plainResponse, serializeResponse, toRequest, type RequestInfo } from './http.js';

/** PEM-encoded certificate chain and private key: the server then speaks `wss://` (TLS). */
export interface TlsServerOptions {
  readonly cert: string;
  readonly key: string;
}

export type { AuthAccept, AuthReject, AuthResult, HeadersInit } from '@switchyard/adapter-kit';

/** Handles a plain HTTP request (not a WebSocket upgrade), as `Deno.serve` and `Bun.serve` handlers do. */
export type FetchHandler = (request: Request, info: RequestInfo) => Response | Promise<Response>;

export type { ServerDeflateOptions } from '@switchyard/adapter-kit';

export interface WebSocketServerOptions<User = undefined> extends ConnectionOptions {
  /** TCP port; 0 (default) picks a free one (read it back from `server.port`). */
  readonly port?: number;
  /** Interface to listen on. Default: all interfaces ('0.0.0.0'). */
  readonly host?: string;
  /** Serve `wss://` with this certificate and key (PEM). */
  readonly tls?: TlsServerOptions;
  /** Only accept upgrades for this path (the query string is ignored); others get 404. Default: any path. */
  readonly path?: string;
  /** Serves plain HTTP requests on the same port; without it they get 426. */
  readonly fetch?: FetchHandler;
  /**
   * Admission: runs after the request passed the protocol checks and before the 101. Return
   * `{ ok: true, user }` to accept or `{ ok: false, status }` to refuse. Exceptions refuse with 500.
   */
  readonly authenticate?: (request: Request, info: RequestInfo) => AuthResult<User> | Promise<AuthResult<User>>;
  /** Allowed `Origin`s (others get 403): a list, or a function. Default: any origin. */
  readonly origins?: readonly string[] | ((origin: string | undefined) => boolean);
  /** Subprotocols in order of preference, or a function choosing among those offered. */
  readonly protocols?: readonly string[] | ((offered: readonly string[], request: Request) => string | undefined);
  /** Connections open at once (handshakes included); beyond it: 503. Default: unlimited. */
  readonly maxConnections?: number;
  /** From the TCP accept to the 101 (authentication included), in ms. Default 10 000. */
  readonly handshakeTimeout?: number;
  /** Largest request head in bytes; 431 above it. Default 16 384. */
  readonly maxHeaderSize?: number;
  /** Most header lines in a request; more get 431. Default 128. */
  readonly maxHeaders?: number;
  /** permessage-deflate: off by default. `true` accepts with the RFC defaults. */
  readonly perMessageDeflate?: boolean | ServerDeflateOptions;
  /** Headers added to every 101 response. */
  readonly extraHeaders?: HeadersInit;
  /**
   * Answer application-level heartbeat pings (text messages) before they reach the app (e.g.
   * `answerHeartbeat` from @switchyard/client). Returns the reply, or `undefined` for an
   * ordinary message.
   */
  readonly appHeartbeat?: (text: string) => string | undefined;
  /** Largest body of a plain HTTP request passed to `fetch`. Default 1 MiB (413 above). */
  readonly maxRequestBody?: number;
}

export interface WebSocketServerEvents<User> {
  /** A WebSocket was accepted; `request` is the upgrade request, `socket.user` what `authenticate` gave. */
  connection: (socket: WebSocketConnection<User>, request: Request) => void;
  /** The port is bound (emitted once, on the next tick after construction). */
  listening: () => void;
  /** Errors of the server itself (a failing hook, a failing accept). */
  error: (error: Error) => void;
  /** The server is closed and every connection is over. */
  close: () => void;
}

/** How the runtime-specific entry points listen: one function per runtime. */
export interface Listener {
  readonly port: number;
  readonly hostname: string;
  /** Stops accepting and frees the port (open connections are left alone). */
  stop(): Promise<void>;
}
export type Listen = (
  options: { readonly port: number; readonly hostname: string; readonly tls: TlsServerOptions | undefined },
  onTransport: (transport: Transport) => void,
  /**
   * The listener could not accept for a while (file descriptors exhausted, …): called once per
   * burst, while it backs off and retries. It keeps accepting until `stop()`.
   */
  onAcceptError: (error: Error) => void,
) => Listener;

const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
const DEFAULT_MAX_REQUEST_BODY = 1024 * 1024;
/** Bytes a client may send after its head while the server is still deciding (authenticate). */
const MAX_EARLY_BYTES = 1024 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * The WebSocket server over a runtime's raw TCP: bytes go through the codec's HTTP head parser,
 * handshake validation and `authenticate`, then a codec `Connection` runs on the same socket.
 * Plain HTTP requests go to the `fetch` handler. Use the runtime's entry point
 * (`@switchyard/deno-bun/deno` or `/bun`), which supplies `listen`.
 */
export class BaseWebSocketServer<User = undefined> extends TypedEmitter<WebSocketServerEvents<User>> {
  readonly #options: WebSocketServerOptions<User>;
  readonly #connectionOptions: ResolvedConnectionOptions;
  readonly #listener: Listener;
  readonly #clients = new Set<WebSocketConnection<User>>();
  readonly #handshakes = new Set<Transport>();
  readonly #upgradeOptions: UpgradeServerOptions;
  readonly #deflate: ServerDeflateOptions | undefined;
  readonly #limiter: ConcurrencyLimiter | undefined;
  readonly #scheme: 'http' | 'https';
  readonly #heartbeat: ConnectionHeartbeat | undefined;
  /** Every connection's end runs this one function (no closure per connection). */
  readonly #connectionClosed = (socket: WebSocketConnection<unknown>): void => {
    this.#clients.delete(socket as WebSocketConnection<User>);
  };
  #closing: Promise<void> | undefined;

  constructor(options: WebSocketServerOptions<User>, listen: Listen) {
    super();
    this.#options = options;
    this.#connectionOptions = resolveConnectionOptions(options, 'server');
    this.#heartbeat = createHeartbeat(this.#connectionOptions);
    this.#scheme = options.tls ? 'https' : 'http';
    this.#deflate = options.perMessageDeflate === true ? {} : options.perMessageDeflate || undefined;
    this.#limiter = this.#deflate ? new ConcurrencyLimiter(this.#deflate.concurrencyLimit ?? 10) : undefined;
    const upgrade: { -readonly [K in keyof UpgradeServerOptions]: UpgradeServerOptions[K] } = {};
    if (Array.isArray(options.protocols)) upgrade.protocols = options.protocols as readonly string[];
    if (options.origins) upgrade.origins = options.origins;
    if (options.maxHeaders !== undefined) upgrade.maxHeaders = options.maxHeaders;
    if (options.extraHeaders) upgrade.extraHeaders = toHeaderList(options.extraHeaders);
    if (this.#deflate) upgrade.perMessageDeflate = deflateNegotiationOptions(this.#deflate);
    this.#upgradeOptions = upgrade;
    // Fail on bad options now, not at the first connection.
    validateUpgradeRequest({ method: 'GET', version: '1.1', headers: [] }, upgrade);
    this.#listener = listen(
      { port: options.port ?? 0, hostname: options.host ?? '0.0.0.0', tls: options.tls },
      (transport) => this.#accept(transport),
      (error) => this.#reportError(error),
    );
    queueMicrotask(() => this.emit('listening'));
  }

  /** The port listened on (useful with `port: 0`). */
  get port(): number {
    return this.#listener.port;
  }

  get hostname(): string {
    return this.#listener.hostname;
  }

  /** The listening address, shaped like node's `AddressInfo`. */
  address(): { readonly address: string; readonly port: number } {
    return { address: this.#listener.hostname, port: this.#listener.port };
  }

  /** The open connections. */
  get clients(): ReadonlySet<WebSocketConnection<User>> {
    return this.#clients;
  }

  /**
   * Sends one message to every open connection (or those `filter` keeps), encoding the frame
   * once. Returns how many connections accepted it.
   */
  broadcast(data: SendData | PreparedMessage, filter?: (socket: WebSocketConnection<User>) => boolean): number {
    const message = isPrepared(data) ? data : prepareMessage(typeof data === 'string' ? data : toBytes(data));
    let accepted = 0;
    for (const socket of this.#clients) {
      if (filter && !filter(socket)) continue;
      if (socket.sendPrepared(message).status !== 'dropped') accepted += 1;
    }
    return accepted;
  }

  /**
   * Graceful shutdown: stop accepting, send 1001 to every peer, wait for their close frames (or
   * each connection's close timeout), then free the port. Messages accepted by `send` before
   * are written before the close frame.
   */
  close(code = 1001, reason = 'server shutting down'): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closing = (async () => {
      for (const transport of this.#handshakes) transport.destroy();
      this.#handshakes.clear();
      await Promise.all(
        [...this.#clients].map(
          (socket) =>
            new Promise<void>((done) => {
              socket.once('close', () => done());
              socket.close(code, reason);
            }),
        ),
      );
      await this.#listener.stop();
      this.emit('close');
    })();
    return this.#closing;
  }

  protected override onListenerError(error: unknown): void {
    this.#reportError(error);
  }

  #reportError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }

  #accept(transport: Transport): void {
    const options = this.#options;
    if (this.#closing) {
      transport.attach(ignoreHandler);
      transport.write([plainResponse(503, 'The server is shutting down.\n')]);
      transport.end();
      return;
    }
    if (options.maxConnections !== undefined && this.#clients.size + this.#handshakes.size >= options.maxConnections) {
      transport.attach(ignoreHandler);
      transport.write([plainResponse(503, 'Too many connections.\n', [['Retry-After', '1']])]);
      transport.end();
      return;
    }
    this.#handshakes.add(transport);
    const parser = new HttpHeadParser('request', {
      ...(options.maxHeaderSize !== undefined ? { maxHeadBytes: options.maxHeaderSize } : {}),
      ...(options.maxHeaders !== undefined ? { maxHeaders: options.maxHeaders } : {}),
    });
    const early: Uint8Array[] = [];
    let earlyBytes = 0;
    let earlyWaiter: (() => void) | undefined;
    let state: 'head' | 'deciding' | 'done' = 'head';
    const timer = setTimeout(() => {
      if (state === 'done') return;
      state = 'done';
      this.#handshakes.delete(transport);
      transport.write([plainResponse(408, 'Handshake timeout.\n')]);
      transport.end();
      // A peer that never reads must not keep the socket.
      setTimeout(() => transport.destroy(), 1000);
    }, options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT);
    const finish = (): void => {
      state = 'done';
      clearTimeout(timer);
      this.#handshakes.delete(transport);
    };
    const refuse = (response: Uint8Array | Uint8Array[]): void => {
      finish();
      transport.write(Array.isArray(response) ? response : [response]);
      transport.end();
    };
    transport.attach({
      data: (chunk) => {
        if (state === 'deciding') {
          early.push(chunk);
          earlyBytes += chunk.byteLength;
          if (earlyBytes > MAX_EARLY_BYTES) {
            finish();
            transport.destroy();
          }
          earlyWaiter?.();
          return;
        }
        if (state !== 'head') return;
        const result = parser.push(chunk);
        if (result.status === 'incomplete') return;
        if (result.status === 'error') {
          refuse(plainResponse(result.httpStatus, `${result.message}\n`));
          return;
        }
        state = 'deciding';
        transport.pause();
        if (result.rest.byteLength > 0) {
          early.push(result.rest);
          earlyBytes += result.rest.byteLength;
        }
        const context: HandshakeContext = {
          transport,
          head: result.head as HttpRequestHead,
          early,
          refuse,
          finish,
          isOpen: () => state !== 'done',
          waitForBytes: (count) =>
            new Promise<void>((resolve) => {
              const check = (): void => {
                if (earlyBytes < count && !transport.closed) return;
                earlyWaiter = undefined;
                resolve();
              };
              earlyWaiter = check;
              check();
            }),
        };
        this.#decide(context).catch((error: unknown) => {
          if (state !== 'done') refuse(plainResponse(500, 'Internal error.\n'));
          this.#reportError(error);
        });
      },
      drain: () => undefined,
      end: () => {
        if (state !== 'done') {
          finish();
          transport.destroy();
        }
      },
      closed: () => {
        if (state !== 'done') finish();
        earlyWaiter?.();
      },
    });
  }

  async #decide(context: HandshakeContext): Promise<void> {
    const { transport, head, early, refuse, finish } = context;
    const options = this.#options;
    const info: RequestInfo = { remoteAddress: transport.remoteAddress, remotePort: transport.remotePort };
    const fallbackHost = `${this.hostname}:${this.port}`;

    if (!isWebSocketUpgrade(head.headers)) {
      if (options.fetch) await this.#serveHttp(context, options.fetch, info, fallbackHost);
      else
        refuse(
          plainResponse(426, 'This is a WebSocket endpoint: send an upgrade request.\n', [
            ['Upgrade', 'websocket'],
            ['Connection', 'Upgrade'],
          ]),
        );
      return;
    }
    if (options.path !== undefined && pathOf(head.target) !== options.path) {
      refuse(plainResponse(404, 'No WebSocket endpoint at this path.\n'));
      return;
    }
    const request = toRequest(head, this.#scheme, fallbackHost);
    if (!request) {
      refuse(plainResponse(400, 'Malformed request target or headers.\n'));
      return;
    }
    const upgradeOptions = this.#upgradeOptionsFor(request);
    let decision = validateUpgradeRequest(head, upgradeOptions);
    if (!decision.ok) {
      refuse(decision.response);
      return;
    }
    let user = undefined as User;
    if (options.authenticate) {
      let verdict: AuthResult<User>;
      try {
        verdict = await options.authenticate(request, info);
      } catch (error) {
        verdict = { ok: false, status: 500 };
        this.#reportError(error);
      }
      if (!context.isOpen()) return;
      if (transport.closed) {
        finish();
        return;
      }
      if (this.#closing) {
        refuse(plainResponse(503, 'The server is shutting down.\n'));
        return;
      }
      if (!verdict.ok) {
        const status = Number.isInteger(verdict.status) && verdict.status >= 400 && verdict.status <= 599 ? verdict.status : 403;
        refuse(plainResponse(status, verdict.body ?? '', verdict.headers ? toHeaderList(verdict.headers) : []));
        return;
      }
      user = verdict.user;
      if (verdict.headers !== undefined) {
        const extraHeaders = [...(upgradeOptions.extraHeaders ?? []), ...toHeaderList(verdict.headers)];
        decision = validateUpgradeRequest(head, { ...upgradeOptions, extraHeaders });
        if (!decision.ok) {
          refuse(decision.response);
          return;
        }
      }
    }
    if (!context.isOpen()) return;
    finish();
    if (transport.closed) return;
    this.#open(transport, decision, user, request, early);
  }

  #upgradeOptionsFor(request: Request): UpgradeServerOptions {
    const protocols = this.#options.protocols;
    if (typeof protocols !== 'function') return this.#upgradeOptions;
    return { ...this.#upgradeOptions, protocols: (offered) => protocols(offered, request) };
  }

  #open(
    transport: Transport,
    decision: Extract<UpgradeDecision, { ok: true }>,
    user: User,
    request: Request,
    early: readonly Uint8Array[],
  ): void {
    const options = this.#connectionOptions;
    transport.write([decision.response]);
    const opened = new WebSocketConnection<User>({
      transport,
      role: 'server',
      options,
      deflate:
        decision.deflate && this.#deflate && this.#limiter
          ? { params: decision.deflate, options: this.#deflate, limiter: this.#limiter }
          : undefined,
      protocol: decision.protocol ?? '',
      extensions: headerValue(decision.responseHeaders, 'sec-websocket-extensions') ?? '',
      url: request.url.replace(/^http/, 'ws'),
      user,
      intercept: this.#options.appHeartbeat,
      heartbeat: this.#heartbeat,
      onClosed: this.#connectionClosed,
    });
    this.#clients.add(opened);
    this.emit('connection', opened, request);
    opened.start(early.length === 0 ? EMPTY : concatChunks(early, totalLength(early)));
    if (!opened.readPaused) transport.resume();
  }

  async #serveHttp(context: HandshakeContext, fetchHandler: FetchHandler, info: RequestInfo, fallbackHost: string): Promise<void> {
    const { transport, head, early, refuse } = context;
    if (headerValue(head.headers, 'transfer-encoding') !== undefined) {
      refuse(plainResponse(411, 'Request bodies need a Content-Length.\n'));
      return;
    }
    const lengthHeader = headerValue(head.headers, 'content-length') ?? '0';
    const length = Number(lengthHeader);
    if (!/^\d+$/.test(lengthHeader) || !Number.isSafeInteger(length)) {
      refuse(plainResponse(400, 'Malformed Content-Length.\n'));
      return;
    }
    if (length > (this.#options.maxRequestBody ?? DEFAULT_MAX_REQUEST_BODY)) {
      refuse(plainResponse(413, 'Request body too large.\n'));
      return;
    }
    if (length > 0) {
      transport.resume();
      await context.waitForBytes(length);
      transport.pause();
      if (transport.closed || !context.isOpen()) return;
    }
    const body = concatChunks(early, totalLength(early)).subarray(0, length);
    const request = toRequest(head, this.#scheme, fallbackHost, body);
    if (!request) {
      refuse(plainResponse(400, 'Malformed request target or headers.\n'));
      return;
    }
    let response: Response;
    try {
      response = await fetchHandler(request, info);
    } catch (error) {
      refuse(plainResponse(500, 'Internal error.\n'));
      this.#reportError(error);
      return;
    }
    if (!context.isOpen()) return;
    refuse(await serializeResponse(response, head.method));
  }
}

/** One connection between its request head and its 101 (or HTTP answer). */
interface HandshakeContext {
  readonly transport: Transport;
  readonly head: HttpRequestHead;
  /** Bytes received after the head (frames, or a request body). */
  readonly early: Uint8Array[];
  /** Answers with these bytes and ends the connection. */
  readonly refuse: (response: Uint8Array | Uint8Array[]) => void;
  /** Ends the handshake phase (timer, bookkeeping). */
  readonly finish: () => void;
  /** False once the handshake phase ended (answered, timed out or the peer left). */
  readonly isOpen: () => boolean;
  /** Resolves once `count` bytes followed the head, or the transport closed. */
  readonly waitForBytes: (count: number) => Promise<void>;
}

const ignoreHandler: TransportHandler = { data: () => undefined, drain: () => undefined, end: () => undefined, closed: () => undefined };

/** The RFC 7692 part of the server's deflate options (zlib tuning removed). */
function deflateNegotiationOptions(options: ServerDeflateOptions): DeflateServerOptions {
  const negotiation: { -readonly [K in keyof DeflateServerOptions]: DeflateServerOptions[K] } = {};
  if (options.serverNoContextTakeover !== undefined) negotiation.serverNoContextTakeover = options.serverNoContextTakeover;
  if (options.clientNoContextTakeover !== undefined) negotiation.clientNoContextTakeover = options.clientNoContextTakeover;
  if (options.serverMaxWindowBits !== undefined) negotiation.serverMaxWindowBits = options.serverMaxWindowBits;
  if (options.clientMaxWindowBits !== undefined) negotiation.clientMaxWindowBits = options.clientMaxWindowBits;
  return negotiation;
}

function toHeaderList(headers: HeadersInit): HeaderList {
  if (Array.isArray(headers)) return headers as HeaderList;
  const list: Array<readonly [string, string]> = [];
  for (const [name, value] of Object.entries(headers as Readonly<Record<string, string | readonly string[] | undefined>>)) {
    if (value === undefined) continue;
    if (typeof value === 'string') list.push([name, value]);
    else for (const item of value) list.push([name, item]);
  }
  return list;
}

function isPrepared(data: SendData | PreparedMessage): data is PreparedMessage {
  return typeof data === 'object' && data !== null && 'chunks' in data && 'payload' in data && !ArrayBuffer.isView(data);
}

function pathOf(target: string): string {
  const query = target.indexOf('?');
  const path = query >= 0 ? target.slice(0, query) : target;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      return new URL(path).pathname;
    } catch {
      return path;
    }
  }
  return path;
}
