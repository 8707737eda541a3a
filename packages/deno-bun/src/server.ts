import { HttpHeadParser, type HttpRequestHead, type PreparedMessage } from '@switchyard/codec';
import {
  type AcceptError,
  ServerCore,
  TypedEmitter,
  concatChunks,
  httpResponse,
  totalLength,
  type AuthResult,
  type ConnectionOptions,
  type PendingHandshake,
  type SendData,
  type ServerDeflateOptions,
  type ServerHooks,
  type ServerPolicyOptions,
  type Transport,
  type TransportHandler,
  type WebSocketConnection,
} from '@switchyard/adapter-kit';
import { headerValue, isWebSocketUpgrade, serializeResponse, toRequest, type RequestInfo } from './http.js';

/** PEM-encoded certificate chain and private key: the server then speaks `wss://` (TLS). */
export interface TlsServerOptions {
  readonly cert: string;
  readonly key: string;
}

export type { AuthAccept, AuthReject, AuthRejectClose, AuthRejectHttp, AuthResult, HeadersInit } from '@switchyard/adapter-kit';

/** Handles a plain HTTP request (not a WebSocket upgrade), as `Deno.serve` and `Bun.serve` handlers do. */
export type FetchHandler = (request: Request, info: RequestInfo) => Response | Promise<Response>;

export type { ServerDeflateOptions } from '@switchyard/adapter-kit';

export interface WebSocketServerOptions<User = undefined> extends ConnectionOptions, ServerPolicyOptions {
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
  /** Subprotocols in order of preference, or a function choosing among those offered. */
  readonly protocols?: readonly string[] | ((offered: readonly string[], request: Request) => string | undefined);
  /** From the TCP accept to the 101 (request head and `authenticate` included), in ms; then 408. Default 10 000. */
  readonly handshakeTimeout?: number;
  /** permessage-deflate: off by default. `true` accepts with the RFC defaults. */
  readonly perMessageDeflate?: boolean | ServerDeflateOptions;
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
   * The listener could not accept: resource exhaustion (`fatal: false`, reported once per burst
   * while it backs off and retries; it keeps accepting until `stop()`), or it is gone (`fatal: true`).
   */
  onAcceptError: (error: AcceptError) => void,
) => Listener;

const DEFAULT_MAX_REQUEST_BODY = 1024 * 1024;
/** Bytes a client may send after its head while the server is still deciding (authenticate). */
const MAX_EARLY_BYTES = 1024 * 1024;
/** How long a refused peer may take to read its answer before the socket is destroyed. */
const REFUSAL_LINGER = 1000;
const EMPTY = new Uint8Array(0);

/** What the shared core's hooks receive on Deno and Bun: the runtime's `Request` and where it came from. */
interface UpgradeContext {
  readonly request: Request;
  readonly info: RequestInfo;
}

/**
 * The WebSocket server over a runtime's raw TCP: bytes go through the codec's HTTP head parser,
 * then the shared server core decides the upgrade (the same admission, limits and connection
 * as on Node) and runs the connection on the same socket. Plain HTTP requests go to the
 * `fetch` handler. Use the runtime's entry point (`@switchyard/deno-bun/deno` or `/bun`),
 * which supplies `listen`.
 */
export class BaseWebSocketServer<User = undefined> extends TypedEmitter<WebSocketServerEvents<User>> {
  readonly #options: WebSocketServerOptions<User>;
  readonly #core: ServerCore<User, UpgradeContext>;
  readonly #listener: Listener;
  readonly #scheme: 'http' | 'https';
  readonly #announceErrors: unknown[] = [];
  #announcing = false;
  #closing: Promise<void> | undefined;

  constructor(options: WebSocketServerOptions<User>, listen: Listen) {
    super();
    this.#options = options;
    this.#core = new ServerCore<User, UpgradeContext>({ ...options, ...coreHooks(options) }, (error) => this.#reportError(error));
    this.#scheme = options.tls ? 'https' : 'http';
    this.#listener = listen(
      { port: options.port ?? 0, hostname: options.host ?? '0.0.0.0', tls: options.tls },
      (transport) => this.#accept(transport),
      (error) => this.#acceptFailed(error),
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
    return this.#core.clients;
  }

  /**
   * Sends one message to every open connection (or those `filter` keeps), encoding the frame
   * once. Returns how many connections accepted it.
   */
  broadcast(data: SendData | PreparedMessage, filter?: (socket: WebSocketConnection<User>) => boolean): number {
    return this.#core.broadcast(data, filter);
  }

  /**
   * Runs `callback` with every connection's writes held back, then writes each connection's
   * batch at once: several broadcasts (or sends) in the callback cost one write per connection
   * instead of one per message and connection.
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
    this.#closing = (async () => {
      await this.#core.closeAll(code, reason);
      await this.#listener.stop();
      this.emit('close');
    })();
    return this.#closing;
  }

  protected override onListenerError(error: unknown): void {
    if (this.#announcing) this.#announceErrors.push(error);
    else this.#reportError(error);
  }

  /**
   * Emits `connection`; a listener's throw is thrown on, so that the core closes that
   * connection with 1011 and reports the error, as on Node.
   */
  #announce(socket: WebSocketConnection<User>, request: Request): void {
    this.#announcing = true;
    try {
      this.emit('connection', socket, request);
    } finally {
      this.#announcing = false;
    }
    const errors = this.#announceErrors.splice(0);
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'connection listeners failed');
  }

  #acceptFailed(error: AcceptError): void {
    // A dead listener must not go unnoticed: without an `error` listener it is thrown, as Node's
    // EventEmitter does, so that the process exits non-zero and a supervisor restarts it.
    if (error.fatal && this.listenerCount('error') === 0) {
      queueMicrotask(() => {
        throw error;
      });
      return;
    }
    this.#reportError(error);
  }

  #reportError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
  }

  #accept(transport: Transport): void {
    let linger: ReturnType<typeof setTimeout> | undefined;
    const answer = (response: Uint8Array | readonly Uint8Array[]): void => {
      transport.write(response instanceof Uint8Array ? [response] : response);
      transport.end();
      // A peer that never reads its answer must not keep the socket.
      linger = setTimeout(() => transport.destroy(), REFUSAL_LINGER);
    };
    const refusal = this.#core.capacityRefusal();
    if (refusal) {
      transport.attach({ ...ignoreHandler, closed: () => clearTimeout(linger) });
      answer(refusal);
      return;
    }
    // The handshake, and its timeout, start at the TCP accept: a peer that sends no head is cut too.
    const handshake = this.#core.beginHandshake(answer);
    const refuse = (response: Uint8Array | readonly Uint8Array[]): void => {
      if (handshake.finish()) answer(response);
    };
    const options = this.#options;
    const parser = new HttpHeadParser('request', {
      maxHeadBytes: this.#core.policy.maxHeaderSize,
      maxHeaders: this.#core.policy.maxHeaders,
    });
    const early: Uint8Array[] = [];
    let earlyBytes = 0;
    let earlyWaiter: (() => void) | undefined;
    let reading: 'head' | 'after-head' = 'head';
    transport.attach({
      data: (chunk) => {
        if (!handshake.open) return;
        if (reading === 'after-head') {
          early.push(chunk);
          earlyBytes += chunk.byteLength;
          if (earlyBytes > MAX_EARLY_BYTES) {
            handshake.finish();
            transport.destroy();
          }
          earlyWaiter?.();
          return;
        }
        const result = parser.push(chunk);
        if (result.status === 'incomplete') return;
        if (result.status === 'error') {
          refuse(httpResponse(result.httpStatus, `${result.message}\n`));
          return;
        }
        reading = 'after-head';
        transport.pause();
        if (result.rest.byteLength > 0) {
          early.push(result.rest);
          earlyBytes += result.rest.byteLength;
        }
        const context: HandshakeContext = {
          transport,
          head: result.head as HttpRequestHead,
          early,
          handshake,
          refuse,
          answer,
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
        this.#route(context).catch((error: unknown) => {
          refuse(httpResponse(500, 'Internal error.\n'));
          this.#reportError(error);
        });
      },
      drain: () => undefined,
      end: () => {
        if (handshake.finish()) transport.destroy();
      },
      closed: () => {
        clearTimeout(linger);
        handshake.finish();
        earlyWaiter?.();
      },
    });
  }

  /** A complete request head: plain HTTP goes to `fetch`, an upgrade to the core. */
  async #route(context: HandshakeContext): Promise<void> {
    const { transport, head, early, refuse } = context;
    const options = this.#options;
    const info: RequestInfo = { remoteAddress: transport.remoteAddress, remotePort: transport.remotePort };
    const fallbackHost = `${this.hostname}:${this.port}`;

    if (!isWebSocketUpgrade(head.headers)) {
      if (options.fetch) await this.#serveHttp(context, options.fetch, info, fallbackHost);
      else
        refuse(
          httpResponse(426, 'This is a WebSocket endpoint: send an upgrade request.\n', [
            ['Upgrade', 'websocket'],
            ['Connection', 'Upgrade'],
          ]),
        );
      return;
    }
    if (options.path !== undefined && pathOf(head.target) !== options.path) {
      refuse(httpResponse(404, 'No WebSocket endpoint at this path.\n'));
      return;
    }
    const request = toRequest(head, this.#scheme, fallbackHost);
    if (!request) {
      refuse(httpResponse(400, 'Malformed request target or headers.\n'));
      return;
    }
    await this.#core.admit(head, { request, info }, context.handshake, {
      refuse: context.answer,
      accept: (admission) => {
        if (transport.closed) return;
        const connection = this.#core.open({
          transport,
          accepted: admission.decision,
          user: admission.user,
          closeWith: admission.closeWith,
          url: request.url.replace(/^http/, 'ws'),
          initial: early.length === 0 ? EMPTY : concatChunks(early, totalLength(early)),
          announce: (socket) => this.#announce(socket, request),
        });
        if (!connection.readPaused) transport.resume();
      },
    });
  }

  async #serveHttp(context: HandshakeContext, fetchHandler: FetchHandler, info: RequestInfo, fallbackHost: string): Promise<void> {
    const { transport, head, early, refuse } = context;
    if (headerValue(head.headers, 'transfer-encoding') !== undefined) {
      refuse(httpResponse(411, 'Request bodies need a Content-Length.\n'));
      return;
    }
    const lengthHeader = headerValue(head.headers, 'content-length') ?? '0';
    const length = Number(lengthHeader);
    if (!/^\d+$/.test(lengthHeader) || !Number.isSafeInteger(length)) {
      refuse(httpResponse(400, 'Malformed Content-Length.\n'));
      return;
    }
    if (length > (this.#options.maxRequestBody ?? DEFAULT_MAX_REQUEST_BODY)) {
      refuse(httpResponse(413, 'Request body too large.\n'));
      return;
    }
    if (length > 0) {
      transport.resume();
      await context.waitForBytes(length);
      transport.pause();
      if (transport.closed || !context.handshake.open) return;
    }
    const body = concatChunks(early, totalLength(early)).subarray(0, length);
    const request = toRequest(head, this.#scheme, fallbackHost, body);
    if (!request) {
      refuse(httpResponse(400, 'Malformed request target or headers.\n'));
      return;
    }
    let response: Response;
    try {
      response = await fetchHandler(request, info);
    } catch (error) {
      refuse(httpResponse(500, 'Internal error.\n'));
      this.#reportError(error);
      return;
    }
    refuse(await serializeResponse(response, head.method));
  }
}

/** One connection between its request head and its 101 (or HTTP answer). */
interface HandshakeContext {
  readonly transport: Transport;
  readonly head: HttpRequestHead;
  /** Bytes received after the head (frames, or a request body). */
  readonly early: Uint8Array[];
  /** Open until the handshake is answered, timed out, aborted by `close`, or the peer left. */
  readonly handshake: PendingHandshake;
  /** Answers with these bytes and ends the connection, unless the handshake already ended. */
  readonly refuse: (response: Uint8Array | readonly Uint8Array[]) => void;
  /** Answers with these bytes and ends the connection (the handshake was ended by its caller). */
  readonly answer: (response: Uint8Array | readonly Uint8Array[]) => void;
  /** Resolves once `count` bytes followed the head, or the transport closed. */
  readonly waitForBytes: (count: number) => Promise<void>;
}

const ignoreHandler: TransportHandler = { data: () => undefined, drain: () => undefined, end: () => undefined, closed: () => undefined };

/** The user's hooks, which take the runtime's `Request` (and `RequestInfo`), in the core's shape. */
function coreHooks<User>(options: WebSocketServerOptions<User>): {
  readonly authenticate: ServerHooks<User, UpgradeContext>['authenticate'];
  readonly protocols: ServerHooks<User, UpgradeContext>['protocols'];
} {
  const { authenticate, protocols } = options;
  return {
    authenticate: authenticate && ((context) => authenticate(context.request, context.info)),
    protocols: typeof protocols === 'function' ? (offered, context) => protocols(offered, context.request) : protocols,
  };
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
