import { isToken } from '@switchyard/codec';
import { WebSocketConnection, createHeartbeat } from '../connection.js';
import type { ClientDeflateOptions } from '../compressor.js';
import { concatChunks, toBytes, utf8ByteLength, type Message } from '../data.js';
import { WebSocketProtocolError } from '../errors.js';
import { toHeaderList, type HeadersInit } from '../headers.js';
import { totalLength } from '../transport.js';
import { clientCompressionLimiter } from '../limiter.js';
import { resolveConnectionOptions, type ConnectionOptions, type ResolvedConnectionOptions } from '../options.js';
import { CloseEvent, ErrorEvent } from './events.js';
import { startHandshake, type ClientHandshakeResult, type Connect, type PendingHandshake } from './handshake.js';

/** The options of the client beyond the WHATWG constructor's `(url, protocols)`, on every runtime. */
export interface ClientOptions<Tls> extends ConnectionOptions {
  /** Extra request headers (Authorization, Cookie, …): pairs, or a `{ name: value | values }` record. */
  readonly headers?: HeadersInit;
  /** The `Origin` header (browsers send their page's origin; by default none is sent). */
  readonly origin?: string;
  /** TLS settings for `wss:`, in the runtime's own terms. */
  readonly tls?: Tls;
  /** From the start of the TCP connection to the 101, redirects included, in ms. Default 30 000. */
  readonly handshakeTimeout?: number;
  /** permessage-deflate offer: off by default. `true` offers the RFC defaults. */
  readonly perMessageDeflate?: boolean | ClientDeflateOptions;
  /** Redirects to follow during the handshake. Default 0: a redirect fails the connection, as in browsers. */
  readonly maxRedirects?: number;
}

export type BinaryType = 'blob' | 'arraybuffer';

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
/** The WHATWG readyState values. */
export type ReadyState = typeof CONNECTING | typeof OPEN | typeof CLOSING | typeof CLOSED;

/** What `send` takes: the WHATWG types. */
export type WebSocketSendData = string | ArrayBufferLike | ArrayBufferView | Blob;

/**
 * A listener and its options as `EventTarget` takes them, spelled out here: Node's own types
 * (a project with `"types": ["node"]` and no DOM lib) do not declare the DOM names for them.
 */
type AnyListener = ((event: Event) => unknown) | { handleEvent(event: Event): unknown };
interface ListenerOptions {
  readonly capture?: boolean;
  readonly once?: boolean;
  readonly passive?: boolean;
  readonly signal?: AbortSignal;
}

/** The events of the WHATWG client, for typed `addEventListener`. */
export interface WebSocketEventMap {
  open: Event;
  message: MessageEvent;
  error: ErrorEvent;
  close: CloseEvent;
}

type Handler<E extends Event> = ((this: BaseWebSocket<never>, event: E) => unknown) | null;

export const DEFAULT_CLIENT_HANDSHAKE_TIMEOUT = 30_000;
export const DEFAULT_CLIENT_DEFLATE_CONCURRENCY = 10;

/**
 * The WHATWG `WebSocket` interface (https://websockets.spec.whatwg.org/) over any runtime's
 * transport, so browser code and @switchyard/client run unchanged on Node, Deno and Bun:
 * readyState constants, binaryType, event handler attributes, `send` and `close` with the
 * standard's checks, `bufferedAmount`, `protocol`, `extensions`, `url`; server-grade options on
 * top (headers, TLS, limits, deflate, redirects). Each runtime supplies only `connect`.
 *
 * `error` fires, before `close`, when the connection fails as the standard defines it: the
 * handshake fails, the peer breaks the protocol, or a send overflows the buffer. A peer that
 * drops the TCP connection without a close frame gives `close` with 1006 alone.
 */
export class BaseWebSocket<Tls = unknown> extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  declare readonly CONNECTING: typeof CONNECTING;
  declare readonly OPEN: typeof OPEN;
  declare readonly CLOSING: typeof CLOSING;
  declare readonly CLOSED: typeof CLOSED;

  #url: URL;
  #readyState: ReadyState = CONNECTING;
  #binaryType: BinaryType = 'blob';
  #protocol = '';
  #extensions = '';
  #connection: WebSocketConnection | undefined;
  #handshake: PendingHandshake | undefined;
  #failed = false;
  #closeEventFired = false;
  /** Bytes of sends after closing: the standard says they still count in `bufferedAmount`. */
  #discarded = 0;
  /** Sends waiting behind a Blob being read, to keep their order. */
  #queue: Array<Promise<Uint8Array> | Uint8Array | string> = [];
  #queuedBytes = 0;
  #handlers = new Map<string, { handler: Handler<Event>; listener: (event: Event) => void }>();
  readonly #options: ResolvedConnectionOptions;
  readonly #deflate: ClientDeflateOptions | undefined;

  constructor(url: string | URL, protocols: string | readonly string[] | undefined, options: ClientOptions<Tls>, connect: Connect<Tls>) {
    super();
    const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols];
    const seen = new Set<string>();
    for (const protocol of list) {
      if (!isToken(protocol)) throw new DOMException(`invalid subprotocol ${JSON.stringify(protocol)}`, 'SyntaxError');
      if (seen.has(protocol)) throw new DOMException(`subprotocol ${protocol} is listed twice`, 'SyntaxError');
      seen.add(protocol);
    }
    this.#options = resolveConnectionOptions(options, 'client');
    this.#deflate = options.perMessageDeflate === true ? {} : options.perMessageDeflate || undefined;
    try {
      const parsed = new URL(String(url));
      if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
      else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
      this.#url = parsed;
      this.#handshake = startHandshake(
        parsed,
        {
          protocols: list,
          headers: toHeaderList(options.headers),
          origin: options.origin,
          perMessageDeflate: this.#deflate ? deflateOffer(this.#deflate) : undefined,
          tls: options.tls,
          handshakeTimeout: options.handshakeTimeout ?? DEFAULT_CLIENT_HANDSHAKE_TIMEOUT,
          maxRedirects: options.maxRedirects ?? 0,
        },
        connect,
      );
    } catch (error) {
      throw new DOMException(error instanceof Error ? error.message : `invalid URL ${String(url)}`, 'SyntaxError');
    }
    this.#handshake.result.then(
      (result) => this.#opened(result),
      (error: unknown) => {
        this.#handshake = undefined;
        this.#failed = true;
        this.#fireError(error);
        this.#onClose(1006, '', false);
      },
    );
  }

  get url(): string {
    return this.#url.href;
  }

  get readyState(): ReadyState {
    return this.#readyState;
  }

  get bufferedAmount(): number {
    return (this.#connection?.bufferedAmount ?? 0) + this.#queuedBytes + this.#discarded;
  }

  get protocol(): string {
    return this.#protocol;
  }

  get extensions(): string {
    return this.#extensions;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(value: BinaryType) {
    // The standard ignores values other than the two it knows.
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value;
  }

  get onopen(): Handler<Event> {
    return this.#getHandler('open');
  }
  set onopen(handler: Handler<Event>) {
    this.#setHandler('open', handler);
  }
  get onmessage(): Handler<MessageEvent> {
    return this.#getHandler('message') as Handler<MessageEvent>;
  }
  set onmessage(handler: Handler<MessageEvent>) {
    this.#setHandler('message', handler as Handler<Event>);
  }
  get onerror(): Handler<ErrorEvent> {
    return this.#getHandler('error') as Handler<ErrorEvent>;
  }
  set onerror(handler: Handler<ErrorEvent>) {
    this.#setHandler('error', handler as Handler<Event>);
  }
  get onclose(): Handler<CloseEvent> {
    return this.#getHandler('close') as Handler<CloseEvent>;
  }
  set onclose(handler: Handler<CloseEvent>) {
    this.#setHandler('close', handler as Handler<Event>);
  }

  override addEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: ((this: this, event: WebSocketEventMap[K]) => unknown) | { handleEvent(event: WebSocketEventMap[K]): unknown } | null,
    options?: boolean | ListenerOptions,
  ): void;
  override addEventListener(type: string, listener: AnyListener | null, options?: boolean | ListenerOptions): void;
  override addEventListener(type: string, listener: AnyListener | null, options?: boolean | ListenerOptions): void {
    super.addEventListener(type, listener, options);
  }

  override removeEventListener<K extends keyof WebSocketEventMap>(
    type: K,
    listener: ((this: this, event: WebSocketEventMap[K]) => unknown) | { handleEvent(event: WebSocketEventMap[K]): unknown } | null,
    options?: boolean | { capture?: boolean },
  ): void;
  override removeEventListener(type: string, listener: AnyListener | null, options?: boolean | { capture?: boolean }): void;
  override removeEventListener(type: string, listener: AnyListener | null, options?: boolean | { capture?: boolean }): void {
    super.removeEventListener(type, listener, options);
  }

  /** Sends a message (WHATWG semantics: throws while CONNECTING, counted but dropped once closing). */
  send(data: WebSocketSendData): void {
    if (this.#readyState === CONNECTING) throw new DOMException('the connection is not open yet', 'InvalidStateError');
    if (typeof Blob !== 'undefined' && data instanceof Blob) {
      if (!this.#canSend()) {
        this.#discarded += data.size;
        return;
      }
      const size = data.size;
      this.#queuedBytes += size;
      const read = data.arrayBuffer().then((buffer) => {
        this.#queuedBytes -= size;
        return new Uint8Array(buffer);
      });
      this.#queue.push(read);
      if (this.#queue.length === 1) void this.#drainQueue();
      return;
    }
    const item = typeof data === 'string' ? data : toBytes(data as ArrayBufferLike | ArrayBufferView);
    if (!this.#canSend()) {
      this.#discarded += sizeOf(item);
      return;
    }
    if (this.#queue.length > 0) {
      this.#queuedBytes += sizeOf(item);
      this.#queue.push(item);
      return;
    }
    this.#sendNow(item);
  }

  /** Starts the closing handshake (WHATWG checks: code 1000 or 3000–4999, reason ≤ 123 bytes). */
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new DOMException(`close code ${code} is neither 1000 nor in 3000–4999`, 'InvalidAccessError');
    }
    if (reason !== undefined && utf8ByteLength(reason) > 123) {
      throw new DOMException('the close reason is longer than 123 bytes', 'SyntaxError');
    }
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      // The standard: fail the connection; the handshake in flight is abandoned.
      this.#readyState = CLOSING;
      this.#handshake?.abort();
      return;
    }
    this.#readyState = CLOSING;
    if (code === undefined) this.#connection?.close();
    else this.#connection?.close(code, reason ?? '');
  }

  #opened(result: ClientHandshakeResult): void {
    this.#handshake = undefined;
    if (this.#readyState !== CONNECTING) {
      // close() was called while the 101 was on its way: the connection fails.
      result.transport.destroy();
      this.#failed = true;
      this.#fireError(new Error('the connection was closed before it was established'));
      this.#onClose(1006, '', false);
      return;
    }
    const deflate = this.#deflate;
    const connection = new WebSocketConnection({
      transport: result.transport,
      role: 'client',
      options: this.#options,
      deflate:
        result.deflate && deflate
          ? {
              params: result.deflate,
              options: deflate,
              limiter: clientCompressionLimiter(deflate.concurrencyLimit ?? DEFAULT_CLIENT_DEFLATE_CONCURRENCY),
            }
          : undefined,
      protocol: result.protocol,
      extensions: result.extensions,
      url: result.url.href,
      user: undefined,
      heartbeat: createHeartbeat(this.#options),
    });
    this.#connection = connection;
    this.#url = result.url;
    this.#protocol = result.protocol;
    this.#extensions = result.extensions;
    connection.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    connection.on('error', (error) => {
      if (error instanceof WebSocketProtocolError) this.#failed = true;
    });
    connection.once('close', (code, reason, wasClean) => this.#onClose(code, reason, wasClean));
    this.#readyState = OPEN;
    this.dispatchEvent(new Event('open'));
    // As in a browser, messages that came with the 101 are delivered in a later task than
    // `open`, so listeners added when `open` fires (or when a promise on it resolves) get them.
    setTimeout(() => {
      const rest = result.rest.splice(0);
      connection.start(rest.length === 0 ? undefined : concatChunks(rest, totalLength(rest)));
      if (!connection.readPaused) result.transport.resume();
    }, 0);
  }

  #canSend(): boolean {
    return this.#readyState === OPEN && this.#connection !== undefined && this.#connection.readyState === 'open';
  }

  #sendNow(item: string | Uint8Array): void {
    const connection = this.#connection;
    if (connection === undefined || !this.#canSend()) {
      this.#discarded += sizeOf(item);
      return;
    }
    const result = connection.send(item);
    if (result.status === 'dropped' && result.reason === 'high-water-mark') {
      // The standard: a send that cannot be buffered flags the socket as full and closes it.
      this.#failed = true;
      connection.close(1008, 'send buffer full');
    }
  }

  async #drainQueue(): Promise<void> {
    while (this.#queue.length > 0) {
      const head = this.#queue[0] as Promise<Uint8Array> | Uint8Array | string;
      let item: Uint8Array | string;
      try {
        item = await head;
      } catch {
        item = new Uint8Array(0);
      }
      this.#queue.shift();
      // A Blob's bytes left the count when it was read; the others leave it now.
      if (typeof head === 'string' || head instanceof Uint8Array) this.#queuedBytes -= sizeOf(item);
      this.#sendNow(item);
    }
  }

  #onMessage(data: Message, isBinary: boolean): void {
    if (this.#readyState !== OPEN) return;
    let payload: string | ArrayBuffer | Blob;
    if (!isBinary) payload = data as string;
    else {
      const buffer = exactArrayBuffer(data as Uint8Array);
      payload = this.#binaryType === 'blob' ? new Blob([buffer]) : buffer;
    }
    this.dispatchEvent(new MessageEvent('message', { data: payload, origin: this.#url.origin }));
  }

  #onClose(code: number, reason: string, wasClean: boolean): void {
    if (this.#closeEventFired) return;
    this.#closeEventFired = true;
    this.#readyState = CLOSED;
    this.#queue = [];
    this.#queuedBytes = 0;
    if (this.#failed && this.#connection !== undefined) this.#fireError(new Error(`the connection failed: ${code} ${reason}`.trim()));
    this.dispatchEvent(new CloseEvent('close', { wasClean, code, reason }));
  }

  #fireError(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.dispatchEvent(new ErrorEvent('error', { message, error }));
  }

  #getHandler(type: string): Handler<Event> {
    return this.#handlers.get(type)?.handler ?? null;
  }

  /** Event handler IDL attributes: one listener, added when first set, calling the current handler. */
  #setHandler(type: string, handler: Handler<Event>): void {
    const entry = this.#handlers.get(type);
    const value = typeof handler === 'function' ? handler : null;
    if (entry !== undefined) {
      entry.handler = value;
      return;
    }
    if (value === null) return;
    const record = {
      handler: value as Handler<Event>,
      listener: (event: Event) => {
        record.handler?.call(this as BaseWebSocket<never>, event);
      },
    };
    this.#handlers.set(type, record);
    this.addEventListener(type, record.listener);
  }
}

for (const [name, value] of [['CONNECTING', CONNECTING], ['OPEN', OPEN], ['CLOSING', CLOSING], ['CLOSED', CLOSED]] as const) {
  Object.defineProperty(BaseWebSocket.prototype, name, { value, enumerable: true });
}

/** The RFC 7692 part of the client's deflate options (zlib tuning and limits removed). */
function deflateOffer(options: ClientDeflateOptions): ClientDeflateOptions {
  const offer: { -readonly [K in keyof ClientDeflateOptions]: ClientDeflateOptions[K] } = {};
  if (options.serverNoContextTakeover !== undefined) offer.serverNoContextTakeover = options.serverNoContextTakeover;
  if (options.clientNoContextTakeover !== undefined) offer.clientNoContextTakeover = options.clientNoContextTakeover;
  if (options.serverMaxWindowBits !== undefined) offer.serverMaxWindowBits = options.serverMaxWindowBits;
  if (options.clientMaxWindowBits !== undefined) offer.clientMaxWindowBits = options.clientMaxWindowBits;
  return offer;
}

function sizeOf(item: string | Uint8Array): number {
  return typeof item === 'string' ? utf8ByteLength(item) : item.byteLength;
}

/** The message's own ArrayBuffer when it spans all of it, else a copy (payloads are often views of a socket's buffers). */
function exactArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  // Not `bytes.slice()`: on a Node Buffer that is a view, not a copy.
  return new Uint8Array(bytes).buffer;
}
