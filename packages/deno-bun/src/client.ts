import {
  Connection,
  HttpHeadParser,
  buildUpgradeRequest,
  resolveWebSocketUrl,
  validateUpgradeResponse,
  type BuiltUpgradeRequest,
  type DeflateClientOptions,
  type DeflateParams,
  type HeaderList,
  type HttpResponseHead,
  type WebSocketTarget,
} from '@switchyard/codec';
import {
  clientCompressionLimiter,
  ZlibCompressor,
  resolveConnectionOptions,
  type ClientDeflateOptions,
  type ConnectionOptions,
} from '@switchyard/adapter-kit';
import { WebSocketConnection, createHeartbeat, type Transport } from '@switchyard/adapter-kit';

/** TLS settings of a `wss://` client. */
export interface ClientTlsOptions {
  /** Extra trusted CA certificates (PEM), e.g. a test certificate. */
  readonly ca?: string | readonly string[];
  /**
   * Bun only: set false to accept any certificate (tests only). Deno offers no per-connection
   * switch; run it with `--unsafely-ignore-certificate-errors` instead.
   */
  readonly rejectUnauthorized?: boolean;
}

export type { ClientDeflateOptions } from '@switchyard/adapter-kit';

/** Options beyond the WHATWG constructor's two arguments. */
export interface ClientOptions extends ConnectionOptions {
  /** Extra request headers (e.g. Authorization, Cookie). */
  readonly headers?: HeaderList | Readonly<Record<string, string>>;
  /** The Origin header to send (browsers always send one; this client only when set). */
  readonly origin?: string;
  /** Offer permessage-deflate (off by default; `true` offers the RFC defaults). */
  readonly perMessageDeflate?: boolean | ClientDeflateOptions;
  /** Milliseconds from connecting to the 101. Default 30 000. */
  readonly handshakeTimeout?: number;
  readonly tls?: ClientTlsOptions;
}

/** How a runtime opens a TCP or TLS connection for the client. */
export type Connect = (target: WebSocketTarget, tls: ClientTlsOptions | undefined) => Promise<Transport>;

export type BinaryType = 'blob' | 'arraybuffer';

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
/** The WHATWG readyState values. */
export type ReadyState = typeof CONNECTING | typeof OPEN | typeof CLOSING | typeof CLOSED;

const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;
const encoder = new TextEncoder();

/**
 * The WHATWG `WebSocket` interface over the adapter's own TCP client: the same events, states,
 * checks and errors as a browser's, so browser code and `@switchyard/client` run on it
 * unchanged, with server-side options on top (headers, TLS, limits, deflate). Redirects are not
 * followed (a 3xx fails the connection, as in browsers).
 */
export class BaseWebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;

  readonly url: string;
  #protocol = '';
  #extensions = '';
  #readyState: ReadyState = CONNECTING;
  #binaryType: BinaryType = 'blob';
  #connection: WebSocketConnection | undefined;
  #transport: Transport | undefined;
  /** Bytes sent after the close started (the spec keeps counting them in bufferedAmount). */
  #sentAfterClose = 0;
  /** Sends waiting behind a Blob being read, in order. */
  #sendQueue: Array<Uint8Array | string | Blob> | undefined;
  #closeRequested: { code: number | undefined; reason: string | undefined } | undefined;
  #failed = false;

  #onopen: ((event: Event) => void) | null = null;
  #onmessage: ((event: MessageEvent) => void) | null = null;
  #onerror: ((event: Event) => void) | null = null;
  #onclose: ((event: CloseEvent) => void) | null = null;

  constructor(url: string | URL, protocols: string | readonly string[] | undefined, options: ClientOptions, connect: Connect) {
    super();
    let target: WebSocketTarget;
    let built: BuiltUpgradeRequest;
    const protocolList = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols];
    const deflate = options.perMessageDeflate === true ? {} : options.perMessageDeflate || undefined;
    try {
      target = resolveWebSocketUrl(url);
      built = buildUpgradeRequest(url, {
        protocols: protocolList,
        headers: headerList(options.headers),
        ...(options.origin !== undefined ? { origin: options.origin } : {}),
        ...(deflate ? { perMessageDeflate: deflateOffer(deflate) } : {}),
      });
    } catch (error) {
      throw new DOMException(error instanceof Error ? error.message : String(error), 'SyntaxError');
    }
    const href = typeof url === 'string' ? new URL(url) : new URL(url.href);
    if (href.protocol === 'http:') href.protocol = 'ws:';
    if (href.protocol === 'https:') href.protocol = 'wss:';
    this.url = href.href;
    void this.#establish(target, built, protocolList, options, deflate, connect);
  }

  get readyState(): ReadyState {
    return this.#readyState;
  }

  get protocol(): string {
    return this.#protocol;
  }

  get extensions(): string {
    return this.#extensions;
  }

  get bufferedAmount(): number {
    return (this.#connection?.bufferedAmount ?? 0) + this.#sentAfterClose + this.#queuedBytes();
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(value: BinaryType) {
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value;
  }

  get onopen(): ((event: Event) => void) | null {
    return this.#onopen;
  }
  set onopen(handler: ((event: Event) => void) | null) {
    this.#onopen = this.#swapHandler('open', this.#onopen, handler);
  }
  get onmessage(): ((event: MessageEvent) => void) | null {
    return this.#onmessage;
  }
  set onmessage(handler: ((event: MessageEvent) => void) | null) {
    this.#onmessage = this.#swapHandler('message', this.#onmessage, handler);
  }
  get onerror(): ((event: Event) => void) | null {
    return this.#onerror;
  }
  set onerror(handler: ((event: Event) => void) | null) {
    this.#onerror = this.#swapHandler('error', this.#onerror, handler);
  }
  get onclose(): ((event: CloseEvent) => void) | null {
    return this.#onclose;
  }
  set onclose(handler: ((event: CloseEvent) => void) | null) {
    this.#onclose = this.#swapHandler('close', this.#onclose, handler);
  }

  /** Sends a message (WHATWG semantics: throws while CONNECTING, ignored once closing). */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.#readyState === CONNECTING) throw new DOMException('WebSocket is still connecting', 'InvalidStateError');
    const payload = normalise(data);
    if (this.#readyState !== OPEN) {
      this.#sentAfterClose += payloadSize(payload);
      return;
    }
    if (this.#sendQueue || payload instanceof Blob) {
      (this.#sendQueue ??= []).push(payload);
      if (this.#sendQueue.length === 1) void this.#drainSendQueue();
      return;
    }
    this.#connection?.send(payload);
  }

  /** Starts the closing handshake (WHATWG checks: code 1000 or 3000–4999, reason ≤ 123 bytes). */
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new DOMException(`close code ${code} is neither 1000 nor in 3000–4999`, 'InvalidAccessError');
    }
    if (reason !== undefined && encoder.encode(reason).byteLength > 123) {
      throw new DOMException('close reason is longer than 123 bytes', 'SyntaxError');
    }
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      // WHATWG: fail the connection; the handshake in flight is abandoned.
      this.#readyState = CLOSING;
      this.#closeRequested = { code, reason };
      this.#fail('the connection was closed before it opened');
      return;
    }
    this.#readyState = CLOSING;
    if (this.#sendQueue) {
      this.#closeRequested = { code, reason };
      return;
    }
    this.#connection?.close(code, reason);
  }

  #swapHandler<E extends Event>(
    type: string,
    previous: ((event: E) => void) | null,
    next: ((event: E) => void) | null,
  ): ((event: E) => void) | null {
    if (previous) this.removeEventListener(type, previous as EventListener);
    const handler = typeof next === 'function' ? next : null;
    if (handler) this.addEventListener(type, handler as EventListener);
    return handler;
  }

  #queuedBytes(): number {
    let total = 0;
    for (const item of this.#sendQueue ?? []) total += payloadSize(item);
    return total;
  }

  async #drainSendQueue(): Promise<void> {
    const queue = this.#sendQueue;
    if (!queue) return;
    while (queue.length > 0) {
      const head = queue[0] as Uint8Array | string | Blob;
      const payload = head instanceof Blob ? new Uint8Array(await head.arrayBuffer()) : head;
      queue.shift();
      if (this.#connection && this.#connection.readyState === 'open') this.#connection.send(payload);
    }
    this.#sendQueue = undefined;
    const close = this.#closeRequested;
    if (close && this.#connection && this.#connection.readyState === 'open') this.#connection.close(close.code, close.reason);
  }

  async #establish(
    target: WebSocketTarget,
    built: BuiltUpgradeRequest,
    protocols: readonly string[],
    options: ClientOptions,
    deflate: ClientDeflateOptions | undefined,
    connect: Connect,
  ): Promise<void> {
    let transport: Transport;
    const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      transport = await connect(target, options.tls);
    } catch (error) {
      this.#fail(`could not connect to ${target.host}: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    this.#transport = transport;
    if (this.#failed) {
      transport.destroy();
      return;
    }
    const parser = new HttpHeadParser('response');
    let done = false;
    const fail = (message: string): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      transport.destroy();
      this.#fail(message);
    };
    timer = setTimeout(() => fail('the opening handshake timed out'), timeout);
    transport.attach({
      data: (chunk) => {
        if (done) return;
        const result = parser.push(chunk);
        if (result.status === 'incomplete') return;
        if (result.status === 'error') {
          fail(`malformed handshake response: ${result.message}`);
          return;
        }
        const head = result.head as HttpResponseHead;
        const verdict = validateUpgradeResponse(head, {
          key: built.key,
          protocols,
          ...(built.offeredDeflate ? { offeredDeflate: built.offeredDeflate } : {}),
        });
        if (!verdict.ok) {
          fail(verdict.reason);
          return;
        }
        done = true;
        clearTimeout(timer);
        transport.pause();
        this.#open(transport, verdict.protocol ?? '', verdict.extensions, verdict.deflate, options, deflate, result.rest);
      },
      drain: () => undefined,
      end: () => fail('the server closed the connection during the handshake'),
      closed: (error) => fail(`the connection closed during the handshake${error ? `: ${error.message}` : ''}`),
    });
    transport.write([built.bytes]);
  }

  #open(
    transport: Transport,
    protocol: string,
    extensions: string,
    params: DeflateParams | undefined,
    options: ClientOptions,
    deflate: ClientDeflateOptions | undefined,
    rest: Uint8Array,
  ): void {
    let connection: WebSocketConnection | undefined;
    const resolved = resolveConnectionOptions(options, 'client');
    const compressor = params && deflate ? new ZlibCompressor(params, 'client', clientCompressionLimiter(deflate.concurrencyLimit ?? 10), deflate) : undefined;
    const codec = new Connection({
      role: 'client',
      maxMessageSize: resolved.maxPayload,
      maxFragments: resolved.maxFragments,
      ...(params && compressor
        ? { perMessageDeflate: { params, compressor, ...(deflate?.threshold !== undefined ? { threshold: deflate.threshold } : {}) } }
        : {}),
      ...(compressor ? { onWakeup: () => connection?.wakeup() } : {}),
    });
    connection = new WebSocketConnection({
      transport,
      codec,
      options: resolved,
      protocol,
      extensions,
      url: this.url,
      user: undefined,
      heartbeat: createHeartbeat(resolved),
      compressor,
    });
    this.#connection = connection;
    this.#protocol = protocol;
    this.#extensions = extensions;
    connection.on('message', (data, isBinary) => {
      if (this.#readyState !== OPEN) return;
      let payload: string | ArrayBuffer | Blob;
      if (!isBinary) payload = data as string;
      else {
        const bytes = data as Uint8Array;
        // A copy unless the bytes own their whole buffer (zlib output, for one, is a pooled
        // Buffer view, whose `slice` would not even copy).
        const buffer =
          bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
            ? bytes.buffer
            : (new Uint8Array(bytes).buffer as ArrayBuffer);
        payload = this.#binaryType === 'arraybuffer' ? buffer : new Blob([buffer]);
      }
      this.dispatchEvent(new MessageEvent('message', { data: payload, origin: originOf(this.url) }));
    });
    connection.on('close', (code, reason, wasClean) => {
      this.#readyState = CLOSED;
      if (!wasClean) this.dispatchEvent(new Event('error'));
      this.dispatchEvent(new CloseEvent('close', { code, reason, wasClean }));
    });
    connection.on('error', () => undefined);
    this.#readyState = OPEN;
    this.dispatchEvent(new Event('open'));
    // Messages are delivered from the next task on, as browsers do, so listeners added when the
    // open event's promise continuations run still see the first message.
    setTimeout(() => {
      connection.start(rest);
      transport.resume();
    }, 0);
  }

  #fail(message: string): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#readyState = CLOSED;
    this.#transport?.destroy();
    queueMicrotask(() => {
      this.dispatchEvent(new ErrorEvent('error', { message }));
      this.dispatchEvent(new CloseEvent('close', { code: 1006, reason: '', wasClean: false }));
    });
  }
}

function deflateOffer(options: ClientDeflateOptions): DeflateClientOptions {
  const offer: { -readonly [K in keyof DeflateClientOptions]: DeflateClientOptions[K] } = {};
  if (options.serverNoContextTakeover !== undefined) offer.serverNoContextTakeover = options.serverNoContextTakeover;
  if (options.clientNoContextTakeover !== undefined) offer.clientNoContextTakeover = options.clientNoContextTakeover;
  if (options.serverMaxWindowBits !== undefined) offer.serverMaxWindowBits = options.serverMaxWindowBits;
  if (options.clientMaxWindowBits !== undefined) offer.clientMaxWindowBits = options.clientMaxWindowBits;
  return offer;
}

function headerList(headers: ClientOptions['headers']): HeaderList {
  if (!headers) return [];
  if (Array.isArray(headers)) return headers as HeaderList;
  return Object.entries(headers as Readonly<Record<string, string>>);
}

function normalise(data: string | ArrayBufferLike | ArrayBufferView | Blob): string | Uint8Array | Blob {
  if (typeof data === 'string' || data instanceof Blob) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

function payloadSize(data: string | Uint8Array | Blob): number {
  if (typeof data === 'string') return encoder.encode(data).byteLength;
  return data instanceof Blob ? data.size : data.byteLength;
}

function originOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}`;
}
