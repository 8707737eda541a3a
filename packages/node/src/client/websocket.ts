import type * as tls from 'node:tls';
import { resolveWebSocketUrl, isToken, type HeaderList } from '@switchyard/codec';
import { WebSocketConnection, type Message } from '../connection.js';
import { Connection } from '@switchyard/codec';
import { ZlibCompressor, clientCompressionLimiter, createHeartbeat, toBytes } from '@switchyard/adapter-kit';
import { NodeSocketTransport } from '../transport.js';
import { plainView } from '../data.js';
import { WebSocketProtocolError } from '../errors.js';
import { headerRecordToList, type HeadersInit } from '../headers.js';
import { resolveConnectionOptions, type ClientDeflateOptions, type ConnectionOptions, type ResolvedConnectionOptions } from '../options.js';
import { CloseEvent, ErrorEvent } from './events.js';
import { startHandshake, type PendingHandshake } from './handshake.js';

/** Node-only options, on top of the WHATWG constructor's `(url, protocols)`. */
export interface WebSocketClientOptions extends ConnectionOptions {
  /** Extra request headers (Authorization, Cookie, …). */
  readonly headers?: HeadersInit;
  /** The `Origin` header (browsers send their page's origin; by default none is sent). */
  readonly origin?: string;
  /** TLS options for `wss:` (ca, cert, key, rejectUnauthorized, servername, …). */
  readonly tls?: tls.ConnectionOptions;
  /** From the start of the TCP connection to the 101, in ms. Default 30 000. */
  readonly handshakeTimeout?: number;
  /** permessage-deflate offer: off by default. `true` offers the RFC defaults. */
  readonly perMessageDeflate?: boolean | ClientDeflateOptions;
  /** Redirects to follow during the handshake. Default 0: a redirect fails the connection. */
  readonly maxRedirects?: number;
}

export type BinaryType = 'blob' | 'arraybuffer';
type ReadyState = 0 | 1 | 2 | 3;
type WebSocketSendData = string | ArrayBufferLike | ArrayBufferView | Blob;
type Handler<E extends Event> = ((this: WebSocket, event: E) => unknown) | null;

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const textEncoder = new TextEncoder();

/**
 * The WHATWG `WebSocket` interface on Node (https://websockets.spec.whatwg.org/), so browser
 * code and @switchyard/client run unchanged: readyState constants, binaryType, event handler
 * attributes, `send`, `close` with the standard's checks, `bufferedAmount`, `protocol`,
 * `extensions`, `url`. A third argument takes Node-only options.
 */
export class WebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

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
  #options: ResolvedConnectionOptions;

  constructor(url: string | URL, protocols?: string | readonly string[], options: WebSocketClientOptions = {}) {
    super();
    let parsed: URL;
    try {
      resolveWebSocketUrl(url);
      parsed = new URL(String(url));
      if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
      else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
    } catch (error) {
      throw new DOMException(error instanceof Error ? error.message : `invalid URL ${String(url)}`, 'SyntaxError');
    }
    const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols];
    const seen = new Set<string>();
    for (const protocol of list) {
      if (!isToken(protocol)) throw new DOMException(`invalid subprotocol ${JSON.stringify(protocol)}`, 'SyntaxError');
      if (seen.has(protocol)) throw new DOMException(`subprotocol ${protocol} is listed twice`, 'SyntaxError');
      seen.add(protocol);
    }
    this.#url = parsed;
    this.#options = resolveConnectionOptions(options, 'client');
    const deflate = options.perMessageDeflate === true ? {} : options.perMessageDeflate || undefined;
    const headers = options.headers === undefined ? [] : Array.isArray(options.headers) ? (options.headers as HeaderList) : headerRecordToList(options.headers as Record<string, string | readonly string[] | undefined>);
    const handshake = startHandshake(parsed, {
      protocols: list,
      headers,
      origin: options.origin,
      perMessageDeflate: deflate
        ? {
            serverNoContextTakeover: deflate.serverNoContextTakeover,
            clientNoContextTakeover: deflate.clientNoContextTakeover,
            serverMaxWindowBits: deflate.serverMaxWindowBits,
            clientMaxWindowBits: deflate.clientMaxWindowBits,
          }
        : undefined,
      tls: options.tls,
      handshakeTimeout: options.handshakeTimeout ?? 30_000,
      maxRedirects: options.maxRedirects ?? 0,
    });
    this.#handshake = handshake;
    handshake.result.then(
      (result) => {
        this.#handshake = undefined;
        if (this.#readyState !== CONNECTING) {
          // close() was called while the 101 was on its way: the connection fails.
          result.socket.destroy();
          this.#failed = true;
          this.#fireError(new Error('the connection was closed before it was established'));
          this.#onClose(1006, '', false);
          return;
        }
        const compressor =
          result.deflate && deflate
            ? new ZlibCompressor(result.deflate, 'client', clientCompressionLimiter(deflate.concurrencyLimit ?? 10), deflate)
            : undefined;
        let connection: WebSocketConnection | undefined;
        const codec = new Connection({
          role: 'client',
          maxMessageSize: this.#options.maxPayload,
          maxFragments: this.#options.maxFragments,
          perMessageDeflate:
            compressor && result.deflate ? { params: result.deflate, compressor, threshold: deflate?.threshold ?? 1024 } : undefined,
          ...(compressor ? { onWakeup: () => connection?.wakeup() } : {}),
        });
        connection = new WebSocketConnection({
          transport: new NodeSocketTransport(result.socket),
          codec,
          options: this.#options,
          protocol: result.protocol,
          extensions: result.extensions,
          url: result.url.href,
          user: undefined,
          binaryView: plainView,
          heartbeat: createHeartbeat(this.#options),
          compressor,
        });
        this.#connection = connection;
        this.#url = result.url;
        this.#protocol = result.protocol;
        this.#extensions = result.extensions;
        connection.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
        connection.on('error', (error) => {
          if (error instanceof WebSocketProtocolError) this.#failed = true;
        });
        connection.once('close', (code, reason, wasClean) => {
          this.#onClose(code, reason, wasClean);
        });
        this.#readyState = OPEN;
        this.dispatchEvent(new Event('open'));
        // As in a browser, messages that came with the 101 are delivered in a later task than
        // `open`, so listeners added when `open` fires (or when a promise on it resolves) get them.
        setTimeout(() => connection.start(result.rest), 0);
      },
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
  get onerror(): Handler<Event> {
    return this.#getHandler('error');
  }
  set onerror(handler: Handler<Event>) {
    this.#setHandler('error', handler);
  }
  get onclose(): Handler<CloseEvent> {
    return this.#getHandler('close') as Handler<CloseEvent>;
  }
  set onclose(handler: Handler<CloseEvent>) {
    this.#setHandler('close', handler as Handler<Event>);
  }

  send(data: WebSocketSendData): void {
    if (this.#readyState === CONNECTING) throw new DOMException('the connection is not open yet', 'InvalidStateError');
    if (typeof Blob !== 'undefined' && data instanceof Blob) {
      if (!this.#canSend()) {
        this.#discarded += data.size;
        return;
      }
      this.#queuedBytes += data.size;
      const size = data.size;
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
      this.#discarded += typeof item === 'string' ? textEncoder.encode(item).length : item.byteLength;
      return;
    }
    if (this.#queue.length > 0) {
      this.#queuedBytes += typeof item === 'string' ? Buffer.byteLength(item) : item.byteLength;
      this.#queue.push(item);
      return;
    }
    this.#sendNow(item);
  }

  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw new DOMException(`close code ${code} is neither 1000 nor in 3000–4999`, 'InvalidAccessError');
    }
    if (reason !== undefined && textEncoder.encode(reason).length > 123) {
      throw new DOMException('the close reason is longer than 123 bytes', 'SyntaxError');
    }
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return;
    if (this.#readyState === CONNECTING) {
      this.#readyState = CLOSING;
      this.#handshake?.abort();
      return;
    }
    this.#readyState = CLOSING;
    if (code === undefined) this.#connection?.close();
    else this.#connection?.close(code, reason ?? '');
  }

  #canSend(): boolean {
    return this.#readyState === OPEN && this.#connection !== undefined && this.#connection.readyState === 'open';
  }

  #sendNow(item: string | Uint8Array): void {
    const connection = this.#connection;
    if (connection === undefined || !this.#canSend()) {
      this.#discarded += typeof item === 'string' ? Buffer.byteLength(item) : item.byteLength;
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
      if (typeof head === 'string' || head instanceof Uint8Array) {
        this.#queuedBytes -= typeof item === 'string' ? Buffer.byteLength(item) : item.byteLength;
      }
      this.#sendNow(item);
    }
  }

  #onMessage(data: Message, isBinary: boolean): void {
    if (this.#readyState !== OPEN) return;
    let payload: string | ArrayBuffer | Blob;
    if (!isBinary) payload = data as string;
    else {
      const bytes = data as Uint8Array;
      payload = this.#binaryType === 'blob' ? new Blob([exactArrayBuffer(bytes)]) : exactArrayBuffer(bytes);
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
        record.handler?.call(this, event);
      },
    };
    this.#handlers.set(type, record);
    this.addEventListener(type, record.listener);
  }
}

for (const [name, value] of [['CONNECTING', CONNECTING], ['OPEN', OPEN], ['CLOSING', CLOSING], ['CLOSED', CLOSED]] as const) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}

function exactArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer as ArrayBuffer;
}
