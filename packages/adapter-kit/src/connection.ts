import { Connection, type ConnectionEvent, type DeflateParams, type PeerConnection, type PreparedMessage, type Role, type SendResult } from '@switchyard/codec';
import { ZlibCompressor, type ClientDeflateOptions, type ServerDeflateOptions } from './compressor.js';
import type { ConcurrencyLimiter } from './limiter.js';
import { toBytes, utf8ByteLength, type Message, type SendData } from './data.js';
import { TypedEmitter } from './emitter.js';
import { HeartbeatTimeoutError, SendError, WebSocketProtocolError, WriteStallError } from './errors.js';
import { HeartbeatMonitor, sweepPeriod } from './heartbeat.js';
import { Inbox } from './inbox.js';
import { READ_PAUSE_INFLATE_BYTES, READ_PAUSE_UNSENT_BYTES, type ResolvedConnectionOptions } from './options.js';
import { TokenBucket } from './token-bucket.js';
import type { Transport, TransportHandler } from './transport.js';

/** Options of `send`. */
export interface MessageSendOptions {
  /** Send as a binary message (default: true for bytes, false for strings). */
  readonly binary?: boolean;
  /** Split into frames of at most this many payload bytes. */
  readonly fragmentSize?: number;
  /** With permessage-deflate: force (true) or skip (false) compression for this message. */
  readonly compress?: boolean;
}

/** Receives every message in order; a returned promise is awaited before the next one. */
export type MessageHandler = (data: Message, isBinary: boolean) => unknown;

/** The events of a connection, Node-style listener signatures. */
export interface WebSocketConnectionEvents {
  message: (data: Message, isBinary: boolean) => void;
  ping: (data: Uint8Array) => void;
  pong: (data: Uint8Array) => void;
  /** The connection is over and its socket closed. Emitted exactly once. */
  close: (code: number, reason: string, wasClean: boolean) => void;
  /** Only emitted when a listener is registered: a connection never crashes a process by itself. */
  error: (error: Error) => void;
  /** Everything buffered was handed to the socket after `send` reported it queued. */
  drain: () => void;
  /** `bufferedAmount` crossed `highWaterMark` under the `queue` policy. */
  highWaterMark: (bufferedAmount: number) => void;
}

/** permessage-deflate as the handshake settled it: the parameters, the local tuning, the zlib limiter. */
export interface NegotiatedDeflate {
  readonly params: DeflateParams;
  readonly options: ServerDeflateOptions | ClientDeflateOptions;
  readonly limiter: ConcurrencyLimiter;
}

/** Everything a connection needs: its transport, its side, what the handshake settled, its owner's shared parts. */
export interface ConnectionSetup<User> {
  readonly transport: Transport;
  readonly role: Role;
  readonly options: ResolvedConnectionOptions;
  /** Negotiated permessage-deflate; none: messages go uncompressed. */
  readonly deflate?: NegotiatedDeflate | undefined;
  readonly protocol: string;
  readonly extensions: string;
  readonly url: string;
  readonly user: User;
  /** How binary payloads reach the application (Node: a zero-copy `Buffer` view when asked); default as they are. */
  readonly binaryView?: ((bytes: Uint8Array) => Uint8Array) | undefined;
  /** Text messages pass through this first; a string return is sent back instead of delivered. */
  readonly intercept?: ((text: string) => string | undefined) | undefined;
  /** The heartbeat shared by the owner's connections (`createHeartbeat`); none: no heartbeat. */
  readonly heartbeat?: ConnectionHeartbeat | undefined;
  /**
   * Called once the connection is over, before its `close` listeners. One function for all the
   * owner's connections (a server's bookkeeping), so that no connection carries a closure of its own.
   */
  readonly onClosed?: ((connection: WebSocketConnection<unknown>) => void) | undefined;
}

/** One timer for every connection of a server (or client): see heartbeat.ts. */
export type ConnectionHeartbeat = HeartbeatMonitor<WebSocketConnection<unknown>>;

/** The heartbeat for these options, or undefined when neither a heartbeat nor an idle timeout is set. */
export function createHeartbeat(options: ResolvedConnectionOptions): ConnectionHeartbeat | undefined {
  const period = sweepPeriod(options);
  return period > 0 ? new HeartbeatMonitor(period, checkHeartbeat) : undefined;
}

// Reach a connection's private handlers from outside its class without a closure per
// connection: the class fills these in once, in its static block.
let checkHeartbeat!: (connection: WebSocketConnection<unknown>, now: number) => void;
let transportHandlerOf!: (connection: WebSocketConnection<unknown>) => TransportHandler;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Package-internal: hold and release a connection's writes (a server's `cork` spans many connections). */
export const HOLD_WRITES: unique symbol = Symbol('switchyard.holdWrites');
export const RELEASE_WRITES: unique symbol = Symbol('switchyard.releaseWrites');

/**
 * One WebSocket over one `Transport`, server or client side, on every runtime: the codec's
 * `Connection` plus the socket, the clock and the application-facing surface (send results,
 * drain, heartbeat, close timeout, async iteration, read backpressure, rate limit). Every
 * protocol decision is the codec's; every runtime difference is its transport's.
 *
 * Replies produced while handling one socket read leave in one write: `send` during a message
 * event only queues, and the batch is flushed when the read has been handled (`cork` does the
 * same on demand).
 */
export class WebSocketConnection<User = unknown>
  extends TypedEmitter<WebSocketConnectionEvents>
  implements PeerConnection, AsyncIterable<Message>
{
  /** Data attached by the server's `authenticate` hook. */
  user: User;
  readonly protocol: string;
  readonly extensions: string;
  readonly url: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  lastReceivedAt = Date.now();
  lastMessageAt = this.lastReceivedAt;

  readonly #transport: Transport;
  readonly #engine: Connection;
  readonly #options: ResolvedConnectionOptions;
  readonly #intercept: ((text: string) => string | undefined) | undefined;
  readonly #binaryView: ((bytes: Uint8Array) => Uint8Array) | undefined;
  readonly #bucket: TokenBucket | undefined;
  readonly #heartbeat: ConnectionHeartbeat | undefined;
  readonly #compressor: ZlibCompressor | undefined;
  readonly #onClosedHook: ((connection: WebSocketConnection<unknown>) => void) | undefined;
  #dispatching = false;
  /** Nesting depth of `cork` / `HOLD_WRITES`: while above 0 output waits in the codec. */
  #corked = 0;
  /** The rate limit was passed once: nothing more reaches the application, even after tokens refill. */
  #rateLimited = false;
  #wakeupPending = false;
  #transportEnded = false;
  #closeEvent: { code: number; reason: string; wasClean: boolean } | undefined;
  #socketClosed = false;
  /** A send reported `queued`: `drain` fires once nothing is buffered any more. */
  #drainOwed = false;
  #aboveHighWater = false;
  #userPaused = false;
  #inboxFull = false;
  /** Reading stopped because `READ_PAUSE_UNSENT_BYTES` wait for the peer (until the transport drains). */
  #writePaused = false;
  /** Reading stopped because `READ_PAUSE_INFLATE_BYTES` wait behind an inflation (until it catches up). */
  #inflatePaused = false;
  /** Bytes handed to the transport so far, and what the peer had taken at the last sweep. */
  #handedOver = 0;
  #stallAccepted = 0;
  /** When the peer last took bytes while output waited (0: nothing waits). */
  #stallSince = 0;
  #inbox: Inbox<{ data: Message; isBinary: boolean }> | undefined;
  /** Made by the first `flush` that has to wait. */
  #flushWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the heartbeat last pinged the peer (0: never). */
  #pingSentAt = 0;

  static {
    /**
     * The transport's events, delivered to the connection's private handlers. Its methods live
     * on the prototype: a connection costs one small object here, not four closures.
     */
    class TransportEvents implements TransportHandler {
      readonly #connection: WebSocketConnection<unknown>;
      constructor(connection: WebSocketConnection<unknown>) {
        this.#connection = connection;
      }
      data(chunk: Uint8Array): void {
        this.#connection.#onData(chunk);
      }
      drain(): void {
        this.#connection.#onDrain();
      }
      end(): void {
        this.#connection.#onEnd();
      }
      closed(error?: Error): void {
        this.#connection.#onClosed(error);
      }
    }
    transportHandlerOf = (connection) => new TransportEvents(connection);
    checkHeartbeat = (connection, now) => connection.#checkHeartbeat(now);
  }

  constructor(setup: ConnectionSetup<User>) {
    super();
    this.#transport = setup.transport;
    this.#options = setup.options;
    const deflate = setup.deflate;
    const compressor = deflate ? new ZlibCompressor(deflate.params, setup.role, deflate.limiter, deflate.options) : undefined;
    this.#engine = new Connection({
      role: setup.role,
      maxMessageSize: setup.options.maxPayload,
      maxFragments: setup.options.maxFragments,
      // Only a compressor works asynchronously and wakes the connection: without one, no closure.
      ...(deflate && compressor
        ? {
            perMessageDeflate: {
              params: deflate.params,
              compressor,
              ...(deflate.options.threshold !== undefined ? { threshold: deflate.options.threshold } : {}),
            },
            onWakeup: () => this.wakeup(),
          }
        : {}),
    });
    this.#compressor = compressor;
    this.#intercept = setup.intercept;
    this.#binaryView = setup.binaryView;
    this.#bucket = setup.options.rateLimit ? new TokenBucket(setup.options.rateLimit) : undefined;
    this.#heartbeat = setup.heartbeat;
    this.#onClosedHook = setup.onClosed;
    this.protocol = setup.protocol;
    this.extensions = setup.extensions;
    this.url = setup.url;
    this.user = setup.user;
    this.remoteAddress = setup.transport.remoteAddress;
    this.remotePort = setup.transport.remotePort;
  }

  /**
   * Starts reading. `initial` holds bytes that arrived with the handshake (frames may follow the
   * head in the same packet). The server calls it after its `connection` listeners ran, so no
   * message is delivered before anyone listens.
   */
  start(initial?: Uint8Array): void {
    this.#transport.attach(transportHandlerOf(this as WebSocketConnection<unknown>));
    this.#heartbeat?.add(this as WebSocketConnection<unknown>);
    if (initial && initial.byteLength > 0) this.#onData(initial);
  }

  /** Asynchronous compressor work finished (the codec's `onWakeup`): deliver its events and output. */
  wakeup(): void {
    if (this.#dispatching) {
      this.#wakeupPending = true;
      return;
    }
    queueMicrotask(() => this.#process());
  }

  /** `open`, `closing` or `closed` (the codec's view; the socket may outlive `closed` briefly). */
  get readyState(): 'open' | 'closing' | 'closed' {
    return this.#socketClosed ? 'closed' : this.#engine.state;
  }

  /** Bytes accepted by `send` and not yet taken by the runtime's socket. */
  get bufferedAmount(): number {
    return this.#transport.pendingBytes + this.#engine.bufferedOutput;
  }

  /** Reading is paused, by `pause()` or because a slow iterator or handler has too much waiting. */
  get readPaused(): boolean {
    return this.#userPaused || this.#inboxFull;
  }

  send(data: SendData, options?: MessageSendOptions): SendResult {
    if (this.#engine.state !== 'open' || this.#socketClosed) return this.#dropped('closed');
    const binary = options?.binary ?? typeof data !== 'string';
    let payload: string | Uint8Array = typeof data === 'string' ? data : toBytes(data);
    if (binary && typeof payload === 'string') payload = encoder.encode(payload);
    else if (!binary && typeof payload !== 'string') payload = utf8.decode(payload);
    const refusal = this.#admit(payload);
    if (refusal !== undefined) return refusal;
    const engineOptions = options?.fragmentSize !== undefined || options?.compress !== undefined ? options : undefined;
    if (typeof payload === 'string') this.#engine.sendText(payload, engineOptions);
    else this.#engine.sendBinary(payload, engineOptions);
    return this.#afterSend();
  }

  /** Sends a frame prepared once with `prepareMessage` (broadcast without re-encoding). */
  sendPrepared(message: PreparedMessage): SendResult {
    if (this.#engine.state !== 'open' || this.#socketClosed) return this.#dropped('closed');
    const refusal = this.#admit(message.byteLength);
    if (refusal !== undefined) return refusal;
    this.#engine.sendPrepared(message);
    return this.#afterSend();
  }

  /** `send`, then wait until the bytes are taken by the socket. Rejects with `SendError` if they never will be. */
  async sendAsync(data: SendData, options?: MessageSendOptions): Promise<SendResult> {
    const result = this.send(data, options);
    if (result.status === 'dropped') throw new SendError(`message not sent: ${result.reason}`, result.reason);
    await this.flush();
    return { status: 'written', bufferedAmount: this.bufferedAmount };
  }

  /** Resolves when everything accepted so far has been taken by the socket. */
  flush(): Promise<void> {
    if (this.#socketClosed) return Promise.reject(new SendError('connection closed', 'closed'));
    if (this.bufferedAmount === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      (this.#flushWaiters ??= []).push({ resolve, reject });
      if (!this.#dispatching && this.#corked === 0) this.#writeOutput();
    });
  }

  /**
   * Runs `callback` with writes held back, then writes everything it sent in one go: several
   * `send`s to this connection become one system call (as replies inside a message listener
   * already do). Sends inside report `queued`.
   *
   * Without a callback, writes stay held until the matching `uncork()` (nestable, like a Node
   * socket's): for batching that spans more than one call, such as the hub's fan-out within
   * an event-loop turn.
   */
  cork(callback?: () => void): void {
    this[HOLD_WRITES]();
    if (callback === undefined) return;
    try {
      callback();
    } finally {
      this[RELEASE_WRITES]();
    }
  }

  /** Ends one `cork()` without a callback; the last one writes everything held. */
  uncork(): void {
    if (this.#corked > 0) this[RELEASE_WRITES]();
  }

  /** Holds writes back until the matching release (nestable; used by `cork` and a server's `cork`). */
  [HOLD_WRITES](): void {
    this.#corked += 1;
  }

  [RELEASE_WRITES](): void {
    this.#corked -= 1;
    if (this.#corked === 0 && !this.#dispatching) {
      this.#writeOutput();
      this.#actOnTransport();
    }
  }

  ping(data: Uint8Array | string = new Uint8Array(0)): void {
    if (this.#engine.state !== 'open') return;
    this.#engine.ping(data);
    this.#afterCommand();
  }

  pong(data: Uint8Array | string = new Uint8Array(0)): void {
    if (this.#engine.state !== 'open') return;
    this.#engine.pong(data);
    this.#afterCommand();
  }

  /**
   * Starts the close handshake. If the peer does not answer within `closeTimeout` the socket is
   * destroyed. Throws `InvalidCloseError` for a code that may not be sent or a reason over 123 bytes.
   */
  close(code?: number, reason?: string): void {
    if (this.#socketClosed || this.#engine.state === 'closed') return;
    this.#engine.close(code, reason);
    this.#afterCommand();
  }

  /** Stops reading from the socket: the peer's sends back up into TCP (see `resume`). */
  pause(): void {
    this.#userPaused = true;
    this.#transport.pause();
  }

  resume(): void {
    this.#userPaused = false;
    this.#resumeReading();
    this.lastReceivedAt = Date.now();
  }

  /** Destroys the socket at once, without a close handshake (the close event says 1006). */
  terminate(): void {
    this.#transport.destroy();
  }

  /**
   * Hands every message to `handler`, one at a time and in order, awaiting its promise. While
   * `maxQueuedMessages` wait, the socket is not read (backpressure reaches the peer). A handler
   * that throws closes the connection with 1011.
   */
  onMessage(handler: MessageHandler): void {
    const inbox = this.#openInbox();
    void (async () => {
      for (;;) {
        const next = await inbox.next();
        if (next.done) return;
        try {
          await handler(next.value.data, next.value.isBinary);
        } catch (error) {
          this.#emitError(error instanceof Error ? error : new Error(String(error)));
          inbox.clear();
          this.close(1011, 'internal error');
          return;
        }
      }
    })();
  }

  /** `for await (const message of connection)`: ends when the connection closes. */
  [Symbol.asyncIterator](): AsyncIterator<Message, undefined> {
    const inbox = this.#openInbox();
    return {
      next: async () => {
        const next = await inbox.next();
        return next.done ? next : { done: false, value: next.value.data };
      },
      return: async () => {
        inbox.clear();
        this.#inbox = undefined;
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * A listener threw: the application's state is unknown, so the error goes to `error` listeners
   * and the connection closes with 1011, as when an `onMessage` handler throws. Nothing crashes
   * the process, and the other listeners of the event still run.
   */
  protected override onListenerError(error: unknown): void {
    this.#emitError(error instanceof Error ? error : new Error(String(error)));
    if (this.#engine.state === 'open' && !this.#socketClosed) {
      this.#engine.close(1011, 'internal error');
      this.#afterCommand();
    }
  }

  #emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  #openInbox(): Inbox<{ data: Message; isBinary: boolean }> {
    if (this.#inbox !== undefined) throw new Error('messages are already consumed by an iterator or a handler');
    const inbox = new Inbox<{ data: Message; isBinary: boolean }>(
      this.#options.maxQueuedMessages,
      () => {
        this.#inboxFull = true;
        this.#transport.pause();
      },
      () => {
        this.#inboxFull = false;
        this.lastReceivedAt = Date.now();
        this.#resumeReading();
      },
    );
    if (this.#socketClosed) inbox.end();
    this.#inbox = inbox;
    return inbox;
  }

  /** Applies the high-water policy to a message of `payload` (its UTF-8 length for text: bytes on the wire). */
  #admit(payload: string | Uint8Array | number): SendResult | undefined {
    const buffered = this.bufferedAmount;
    // A single message larger than the mark still goes out when nothing waits before it.
    if (buffered === 0) return undefined;
    const { highWaterMark, highWaterPolicy, maxBufferedAmount } = this.#options;
    // A string's UTF-8 length is at most 3 bytes per UTF-16 unit: count it only near the mark.
    if (typeof payload === 'string' && buffered + payload.length * 3 <= highWaterMark) return undefined;
    const size = typeof payload === 'number' ? payload : typeof payload === 'string' ? utf8ByteLength(payload) : payload.byteLength;
    if (buffered + size <= highWaterMark) return undefined;
    switch (highWaterPolicy) {
      case 'queue':
        if (buffered + size > maxBufferedAmount) return this.#dropped('high-water-mark');
        if (!this.#aboveHighWater) {
          this.#aboveHighWater = true;
          this.emit('highWaterMark', buffered + size);
        }
        return undefined;
      case 'drop':
        return this.#dropped('high-water-mark');
      case 'close-1008':
      case 'close-1013':
        this.close(highWaterPolicy === 'close-1008' ? 1008 : 1013, 'send buffer full');
        return this.#dropped('high-water-mark');
    }
  }

  #dropped(reason: 'closed' | 'high-water-mark'): SendResult {
    return { status: 'dropped', reason, bufferedAmount: this.bufferedAmount };
  }

  #afterSend(): SendResult {
    if (this.#dispatching || this.#corked > 0) {
      this.#drainOwed = true;
      return { status: 'queued', bufferedAmount: this.bufferedAmount };
    }
    const handedOver = this.#writeOutput();
    this.#actOnTransport();
    if (!handedOver) this.#drainOwed = true;
    return { status: handedOver ? 'written' : 'queued', bufferedAmount: this.bufferedAmount };
  }

  #afterCommand(): void {
    if (this.#dispatching || this.#corked > 0) return;
    this.#writeOutput();
    this.#actOnTransport();
  }

  #onData(chunk: Uint8Array): void {
    this.lastReceivedAt = Date.now();
    this.#engine.receive(chunk);
    if (!this.#inflatePaused && this.#engine.bufferedInput >= READ_PAUSE_INFLATE_BYTES) {
      this.#inflatePaused = true;
      this.#transport.pause();
    }
    this.#process();
  }

  /** Resumes reading once nothing holds it: the application, the inbox, unsent output, inflation. */
  #resumeReading(): void {
    if (this.#userPaused || this.#inboxFull || this.#writePaused || this.#inflatePaused || this.#socketClosed) return;
    this.#transport.resume();
  }

  #onEnd(): void {
    this.#engine.receiveEnd();
    this.#process();
    // The peer sends nothing more: whatever the codec says, this connection is over.
    this.#endTransport();
  }

  #onDrain(): void {
    if (this.#writePaused && this.#transport.pendingBytes === 0) {
      this.#writePaused = false;
      this.#resumeReading();
    }
    if (this.#engine.bufferedOutput > 0 && this.#corked === 0) this.#writeOutput();
    this.#settleDrain();
  }

  /** Once nothing is buffered: resolves `flush()` waiters and fires the `drain` a `queued` send promised. */
  #settleDrain(): void {
    if (this.bufferedAmount > 0) return;
    this.#aboveHighWater = false;
    const waiters = this.#flushWaiters;
    if (waiters !== undefined) {
      this.#flushWaiters = undefined;
      for (const waiter of waiters) waiter.resolve();
    }
    if (this.#drainOwed) {
      this.#drainOwed = false;
      this.emit('drain');
    }
  }

  #onClosed(error: Error | undefined): void {
    if (this.#socketClosed) return;
    this.#socketClosed = true;
    if (this.#engine.state !== 'closed') this.#engine.receiveEnd();
    this.#dispatching = true;
    try {
      for (const event of this.#engine.takeEvents()) this.#dispatch(event);
    } finally {
      this.#dispatching = false;
    }
    this.#engine.takeOutput();
    this.#clearTimers();
    if (error && !this.#closeEvent?.wasClean) this.#emitError(error);
    this.#inbox?.end();
    const waiters = this.#flushWaiters;
    this.#flushWaiters = undefined;
    if (waiters !== undefined) for (const waiter of waiters) waiter.reject(new SendError('connection closed', 'closed'));
    this.#compressor?.dispose();
    this.#onClosedHook?.(this as WebSocketConnection<unknown>);
    const close = this.#closeEvent ?? { code: 1006, reason: '', wasClean: false };
    this.emit('close', close.code, close.reason, close.wasClean);
  }

  /** Delivers the engine's events, then writes everything they produced in one batch. */
  #process(): void {
    if (this.#dispatching) {
      this.#wakeupPending = true;
      return;
    }
    this.#dispatching = true;
    try {
      do {
        this.#wakeupPending = false;
        const events = this.#engine.takeEvents();
        for (let i = 0; i < events.length; i++) this.#dispatch(events[i] as ConnectionEvent);
        // A violation after these events takes effect now that they are handled: the replies
        // just queued leave before its close frame.
      } while (this.#wakeupPending || this.#engine.failurePending);
    } finally {
      this.#dispatching = false;
    }
    if (this.#inflatePaused && this.#engine.bufferedInput < READ_PAUSE_INFLATE_BYTES / 2) {
      this.#inflatePaused = false;
      this.#resumeReading();
    }
    if (this.#corked > 0) return;
    this.#writeOutput();
    this.#actOnTransport();
  }

  #dispatch(event: ConnectionEvent): void {
    switch (event.type) {
      case 'text': {
        if (!this.#allowMessage()) return;
        const answer = this.#intercept?.(event.data);
        if (answer !== undefined) {
          if (this.#engine.state === 'open') this.#engine.sendText(answer);
          return;
        }
        this.#deliver(event.data, false);
        return;
      }
      case 'binary':
        if (!this.#allowMessage()) return;
        this.#deliver(this.#binaryView ? this.#binaryView(event.data) : event.data, true);
        return;
      case 'ping':
        this.emit('ping', event.data);
        return;
      case 'pong':
        this.emit('pong', event.data);
        return;
      case 'close':
        this.#closeEvent = { code: event.code, reason: event.reason, wasClean: event.wasClean };
        if (event.error) this.#emitError(new WebSocketProtocolError(event.error));
        return;
    }
  }

  #allowMessage(): boolean {
    this.lastMessageAt = this.lastReceivedAt;
    if (this.#bucket === undefined) return true;
    // Once over the limit, nothing more reaches the application, even if tokens refill before
    // the 1008 close completes.
    if (!this.#rateLimited && this.#bucket.take()) return true;
    this.#rateLimited = true;
    if (this.#engine.state === 'open') this.#engine.close(1008, 'rate limit exceeded');
    return false;
  }

  /** The inbox (iterator or `onMessage` handler) first, then the `message` listeners. */
  #deliver(data: Message, isBinary: boolean): void {
    this.#inbox?.push({ data, isBinary });
    this.emit('message', data, isBinary);
  }

  /**
   * Hands the codec's output to the transport. True when it went without waiting in this
   * process (Deno: the write is with the runtime; Bun: the kernel took it all).
   */
  #writeOutput(): boolean {
    const output = this.#engine.takeOutput();
    if (output.length === 0) return this.#engine.bufferedOutput === 0 && this.#transport.pendingBytes === 0;
    for (let i = 0; i < output.length; i++) this.#handedOver += (output[i] as Uint8Array).byteLength;
    const handedOver = this.#transport.write(output) && this.#engine.bufferedOutput === 0;
    if (!this.#writePaused && this.#transport.pendingBytes >= READ_PAUSE_UNSENT_BYTES) {
      this.#writePaused = true;
      this.#transport.pause();
    }
    if (handedOver && this.#drainOwed && !this.#dispatching) queueMicrotask(() => this.#settleDrain());
    return handedOver;
  }

  #actOnTransport(): void {
    switch (this.#engine.transportAction) {
      case 'none':
        return;
      case 'await-close':
        this.#armCloseTimer(() => this.#transport.destroy());
        return;
      case 'end-transport':
        if (this.#engine.bufferedOutput === 0) this.#endTransport();
        return;
      case 'await-transport-end':
        this.#armCloseTimer(() => this.#endTransport());
        return;
    }
  }

  #endTransport(): void {
    if (this.#transportEnded) return;
    this.#transportEnded = true;
    this.#stopHeartbeat();
    // A peer that never ends its side must not hold the socket forever. (Armed before `end`,
    // which may close the transport synchronously and clear the timers.)
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#closeTimer = setTimeout(() => this.#transport.destroy(), this.#options.closeTimeout);
    this.#transport.end();
  }

  #armCloseTimer(onTimeout: () => void): void {
    if (this.#closeTimer) return;
    this.#stopHeartbeat();
    this.#closeTimer = setTimeout(() => {
      this.#closeTimer = undefined;
      onTimeout();
    }, this.#options.closeTimeout);
  }

  /**
   * One heartbeat check, run by the owner's sweep (one timer for all its connections): close 1001
   * after `idleTimeout` without a message, ping a peer silent for `heartbeatInterval`, terminate
   * one that sent nothing within `heartbeatTimeout` of that ping. Any bytes from the peer count
   * as a sign of life. While reading is paused (by the application, or because the peer does not
   * read what we send) its pongs cannot be seen, so it is not pinged; the write-stall bound cuts a
   * peer that takes none of our bytes, paused or not.
   */
  #checkHeartbeat(now: number): void {
    if (this.#engine.state !== 'open' || this.#socketClosed) {
      this.#stopHeartbeat();
      return;
    }
    const { heartbeatInterval, heartbeatTimeout, idleTimeout } = this.#options;
    if (idleTimeout > 0 && now - this.lastMessageAt >= idleTimeout) {
      this.close(1001, 'idle timeout');
      return;
    }
    if (this.#writeStalled(now)) return;
    // While reading is paused the peer's pongs cannot be seen: the write-stall bound watches it.
    if (heartbeatInterval <= 0 || this.readPaused || this.#writePaused || this.#inflatePaused) return;
    const answered = this.#pingSentAt === 0 || this.lastReceivedAt >= this.#pingSentAt;
    if (!answered) {
      if (now - this.#pingSentAt >= heartbeatTimeout) {
        this.#emitError(new HeartbeatTimeoutError(heartbeatTimeout));
        this.terminate();
      }
    } else if (now - this.lastReceivedAt >= heartbeatInterval) {
      this.#pingSentAt = now;
      this.ping();
    }
  }

  /**
   * True (and the socket destroyed) when output has waited `writeStallTimeout` without the peer
   * taking a byte of it. Progress is measured in bytes taken, so a slow reader is never cut.
   */
  #writeStalled(now: number): boolean {
    const timeout = this.#options.writeStallTimeout;
    if (timeout <= 0) return false;
    const pending = this.#transport.pendingBytes;
    if (pending === 0) {
      this.#stallSince = 0;
      return false;
    }
    const accepted = this.#handedOver - pending;
    if (this.#stallSince === 0 || accepted !== this.#stallAccepted) {
      this.#stallSince = now;
      this.#stallAccepted = accepted;
      return false;
    }
    if (now - this.#stallSince < timeout) return false;
    this.#emitError(new WriteStallError(timeout, pending));
    this.terminate();
    return true;
  }

  #stopHeartbeat(): void {
    this.#heartbeat?.delete(this as WebSocketConnection<unknown>);
  }

  #clearTimers(): void {
    this.#stopHeartbeat();
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#closeTimer = undefined;
  }
}
