import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  Connection,
  type Compressor,
  type ConnectionEvent,
  type ConnectionOptions as EngineOptions,
  type PeerConnection,
  type PreparedMessage,
  type SendResult,
} from '@switchyard/codec';
import { Inbox, TokenBucket, toBytes, type SendData } from '@switchyard/adapter-kit';
import { asBuffer, byteLengthOf } from './data.js';
import { SendError, WebSocketProtocolError } from './errors.js';
import type { HeartbeatMonitor, HeartbeatTarget } from './heartbeat.js';
import type { ResolvedConnectionOptions } from './options.js';

/** A received message: text as a string, binary as a Uint8Array (or Buffer, by option). */
export type Message = string | Uint8Array;

export interface WebSocketConnectionEvents {
  message: [data: Message, isBinary: boolean];
  ping: [data: Uint8Array];
  pong: [data: Uint8Array];
  /** The connection is over and its socket closed. Emitted exactly once. */
  close: [code: number, reason: string, wasClean: boolean];
  /** Only emitted when a listener is registered: a connection never crashes a process by itself. */
  error: [error: Error];
  /** The socket's write buffer has emptied after `send` reported it full. */
  drain: [];
  /** `bufferedAmount` crossed `highWaterMark` under the `queue` policy. */
  highWaterMark: [bufferedAmount: number];
}

export interface MessageSendOptions {
  /** Send as a binary message (default: true for bytes, false for strings). */
  readonly binary?: boolean;
  /** Split into frames of at most this many payload bytes. */
  readonly fragmentSize?: number;
  /** With permessage-deflate: force (true) or skip (false) compression for this message. */
  readonly compress?: boolean;
}

export type MessageHandler = (data: Message, isBinary: boolean) => unknown;

/** Information about the connection fixed at the handshake. */
export interface ConnectionInfo {
  readonly protocol: string;
  readonly extensions: string;
  readonly url: string;
}

/**
 * Settings the connection needs beyond the codec's: timers, limits, the shared monitor. One
 * object is shared by all the connections of a server (nothing per connection here).
 */
export interface ConnectionRuntime {
  readonly options: ResolvedConnectionOptions;
  readonly heartbeat: HeartbeatMonitor | undefined;
  /** Called for every text message before it reaches the application; a string return is sent back instead. */
  readonly intercept?: ((text: string) => string | undefined) | undefined;
  /** Called once when a connection is over (before its `close` event), e.g. to forget it. */
  readonly onClosed?: ((connection: WebSocketConnection<unknown>) => void) | undefined;
}

const OWNER = Symbol('switchyard.connection');
/** Package-internal: hold and release a connection's writes (the server's `cork` spans many connections). */
export const HOLD_WRITES = Symbol('switchyard.holdWrites');
export const RELEASE_WRITES = Symbol('switchyard.releaseWrites');
type OwnedSocket = Duplex & { [OWNER]?: WebSocketConnection<unknown> };

const SMALL_WRITE = 16 * 1024;

/** Payloads are often views of the socket's Buffers; `uint8array` promises a plain Uint8Array. */
function plainView(bytes: Uint8Array): Uint8Array {
  return Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
}
const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder('utf-8', { fatal: true });

interface FlushWaiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * One WebSocket over one socket, server or client side. It owns the socket, the timers and the
 * compressor's lifetime; every protocol decision is the codec's `Connection`.
 *
 * Replies produced while handling one socket read leave in one write: `send` during a
 * message event only queues, and the batch is flushed when the read has been handled.
 */
export class WebSocketConnection<User = unknown>
  extends EventEmitter<WebSocketConnectionEvents>
  implements PeerConnection, HeartbeatTarget, AsyncIterable<Message>
{
  /** Data attached by the server's `authenticate` hook. */
  user: User;
  readonly protocol: string;
  readonly extensions: string;
  readonly url: string;
  lastReceivedAt = Date.now();
  lastMessageAt = this.lastReceivedAt;
  pingSentAt = 0;

  private inboxFull = false;
  private userPaused = false;

  private readonly engine: Connection;
  private readonly compressor: Compressor | undefined;
  private readonly bucket: TokenBucket | undefined;
  private dispatching = false;
  private corked = 0;
  private wakeupPending = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private endTimer: NodeJS.Timeout | undefined;
  private closeEvent: { code: number; reason: string; wasClean: boolean } | undefined;
  private socketClosed = false;
  private writeBlocked = false;
  private aboveHighWater = false;
  private rateLimited = false;
  private inbox: Inbox<{ data: Message; isBinary: boolean }> | undefined;
  private flushWaiters: FlushWaiter[] | undefined;

  constructor(
    private readonly socket: Duplex,
    engineOptions: Omit<EngineOptions, 'onWakeup'>,
    private readonly runtime: ConnectionRuntime,
    info: ConnectionInfo,
    user: User,
  ) {
    super();
    this.user = user;
    this.protocol = info.protocol;
    this.extensions = info.extensions;
    this.url = info.url;
    this.compressor = engineOptions.perMessageDeflate?.compressor;
    this.engine = new Connection(
      this.compressor ? { ...engineOptions, onWakeup: () => this.wake() } : engineOptions,
    );
    this.bucket = runtime.options.rateLimit ? new TokenBucket(runtime.options.rateLimit) : undefined;

    const tcp = socket as OwnedSocket & { setNoDelay?: (noDelay: boolean) => unknown; setTimeout?: (ms: number) => unknown };
    tcp.setNoDelay?.(true);
    tcp.setTimeout?.(0);
    // Shared listener functions (the socket points back here): no closures per connection.
    tcp[OWNER] = this as WebSocketConnection<unknown>;
    socket.on('data', WebSocketConnection.onSocketData);
    socket.on('end', WebSocketConnection.onSocketEnd);
    socket.on('error', WebSocketConnection.onSocketErrorEvent);
    socket.on('close', WebSocketConnection.onSocketCloseEvent);
    socket.on('drain', WebSocketConnection.onSocketDrain);
    // A client's socket was paused after its handshake so no byte could slip past a listener.
    socket.resume();
    runtime.heartbeat?.add(this);
  }

  /** `open`, `closing` or `closed` (the codec's view; the socket may outlive `closed` briefly). */
  get readyState(): 'open' | 'closing' | 'closed' {
    return this.socketClosed ? 'closed' : this.engine.state;
  }

  /** Bytes accepted by `send` and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength + this.engine.bufferedOutput;
  }

  get remoteAddress(): string | undefined {
    return (this.socket as Duplex & { remoteAddress?: string }).remoteAddress;
  }

  /**
   * Feeds bytes that arrived before this object existed (the rest of the socket read that
   * carried the handshake).
   */
  receiveInitial(bytes: Uint8Array): void {
    if (bytes.length > 0) this.onData(bytes);
  }

  send(data: SendData, options?: MessageSendOptions): SendResult {
    if (this.engine.state !== 'open' || this.socketClosed) return this.dropped('closed');
    const binary = options?.binary ?? typeof data !== 'string';
    let payload: string | Uint8Array = typeof data === 'string' ? data : toBytes(data);
    if (binary && typeof payload === 'string') payload = Buffer.from(payload);
    else if (!binary && typeof payload !== 'string') payload = utf8.decode(payload);
    const refusal = this.admit(byteLengthOf(payload));
    if (refusal !== undefined) return refusal;
    const engineOptions = options?.fragmentSize !== undefined || options?.compress !== undefined ? options : undefined;
    if (typeof payload === 'string') this.engine.sendText(payload, engineOptions);
    else this.engine.sendBinary(payload, engineOptions);
    return this.afterSend();
  }

  sendPrepared(message: PreparedMessage): SendResult {
    if (this.engine.state !== 'open' || this.socketClosed) return this.dropped('closed');
    const refusal = this.admit(message.byteLength);
    if (refusal !== undefined) return refusal;
    this.engine.sendPrepared(message);
    return this.afterSend();
  }

  /** `send`, then wait until the bytes are handed to the kernel. Rejects with `SendError` if they never will be. */
  async sendAsync(data: SendData, options?: MessageSendOptions): Promise<SendResult> {
    const result = this.send(data, options);
    if (result.status === 'dropped') throw new SendError(`message not sent: ${result.reason}`, result.reason);
    await this.flush();
    return { status: 'written', bufferedAmount: this.bufferedAmount };
  }

  /** Resolves when everything accepted so far has been handed to the kernel. */
  flush(): Promise<void> {
    if (this.socketClosed) return Promise.reject(new SendError('connection closed', 'closed'));
    if (this.bufferedAmount === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      (this.flushWaiters ??= []).push({ resolve, reject });
      if (!this.dispatching) this.writeOutput();
    });
  }

  ping(data: Uint8Array | string = EMPTY): void {
    if (this.engine.state !== 'open') return;
    this.engine.ping(data);
    this.afterCommand();
  }

  pong(data: Uint8Array | string = EMPTY): void {
    if (this.engine.state !== 'open') return;
    this.engine.pong(data);
    this.afterCommand();
  }

  /**
   * Starts the close handshake. If the peer does not answer within `closeTimeout` the socket is
   * destroyed. Throws `InvalidCloseError` for a code that may not be sent or a reason over 123 bytes.
   */
  close(code?: number, reason?: string): void {
    if (this.socketClosed || this.engine.state === 'closed') return;
    this.engine.close(code, reason);
    this.afterCommand();
  }

  /**
   * Runs `callback` with writes held back, then writes everything it sent in one go: several
   * `send`s to this connection become one syscall (as replies inside a message listener already
   * do). Sends inside report `queued`.
   */
  cork(callback: () => void): void {
    this[HOLD_WRITES]();
    try {
      callback();
    } finally {
      this[RELEASE_WRITES]();
    }
  }

  /** Holds writes back until the matching release (nestable; used by `cork` and the server's `cork`). */
  [HOLD_WRITES](): void {
    this.corked += 1;
  }

  [RELEASE_WRITES](): void {
    this.corked -= 1;
    if (this.corked === 0 && !this.dispatching) {
      this.writeOutput();
      this.actOnTransport();
    }
  }

  /** Reading is paused, by `pause()` or because a slow iterator or handler has too much waiting. */
  get readPaused(): boolean {
    return this.userPaused || this.inboxFull;
  }

  /** Stops reading from the socket: the peer's sends back up into TCP (see `resume`). */
  pause(): void {
    this.userPaused = true;
    this.socket.pause();
  }

  resume(): void {
    this.userPaused = false;
    if (!this.inboxFull && !this.socketClosed) this.socket.resume();
    this.lastReceivedAt = Date.now();
  }

  /** Destroys the socket at once, without a close handshake. */
  terminate(): void {
    this.socket.destroy();
  }

  /**
   * Hands every message to `handler`, one at a time and in order, awaiting its promise. While
   * more than `maxQueuedMessages` wait, the socket is not read (backpressure reaches the peer).
   * A handler that throws closes the connection with 1011.
   */
  onMessage(handler: MessageHandler): void {
    const inbox = this.openInbox();
    void (async () => {
      for (;;) {
        const next = await inbox.next();
        if (next.done) return;
        try {
          await handler(next.value.data, next.value.isBinary);
        } catch (error) {
          this.emitError(error instanceof Error ? error : new Error(String(error)));
          inbox.clear();
          this.close(1011, 'internal error');
          return;
        }
      }
    })();
  }

  /** `for await (const message of connection)`: ends when the connection closes. */
  [Symbol.asyncIterator](): AsyncIterator<Message, undefined> {
    const inbox = this.openInbox();
    return {
      next: async () => {
        const next = await inbox.next();
        return next.done ? next : { done: false, value: next.value.data };
      },
      return: async () => {
        inbox.clear();
        this.inbox = undefined;
        return { done: true, value: undefined };
      },
    };
  }

  // HeartbeatTarget

  heartbeatPing(): void {
    this.ping(EMPTY);
  }

  heartbeatExpired(): void {
    this.emitError(new Error('heartbeat timeout: no pong from the peer'));
    this.terminate();
  }

  idleExpired(): void {
    if (this.engine.state === 'open') this.close(1001, 'idle timeout');
    else this.terminate();
  }

  // Internals

  private static onSocketData(this: OwnedSocket, chunk: Buffer): void {
    this[OWNER]?.onData(chunk);
  }
  private static onSocketEnd(this: OwnedSocket): void {
    this[OWNER]?.onEnd();
  }
  private static onSocketErrorEvent(this: OwnedSocket, error: Error): void {
    this[OWNER]?.onSocketError(error);
  }
  private static onSocketCloseEvent(this: OwnedSocket): void {
    this[OWNER]?.onSocketClose();
  }
  private static onSocketDrain(this: OwnedSocket): void {
    this[OWNER]?.onDrain();
  }

  private openInbox(): Inbox<{ data: Message; isBinary: boolean }> {
    if (this.inbox !== undefined) throw new Error('messages are already consumed by an iterator or a handler');
    const inbox = new Inbox<{ data: Message; isBinary: boolean }>(
      this.runtime.options.maxQueuedMessages,
      () => {
        this.inboxFull = true;
        this.socket.pause();
      },
      () => {
        this.inboxFull = false;
        this.lastReceivedAt = Date.now();
        if (!this.socketClosed && !this.userPaused) this.socket.resume();
      },
    );
    if (this.socketClosed) inbox.end();
    this.inbox = inbox;
    return inbox;
  }

  private admit(size: number): SendResult | undefined {
    const buffered = this.bufferedAmount;
    const { highWaterMark, highWaterPolicy, maxBufferedAmount } = this.runtime.options;
    // A single message larger than the mark still goes out when nothing waits before it.
    if (buffered === 0 || buffered + size <= highWaterMark) return undefined;
    switch (highWaterPolicy) {
      case 'queue':
        if (buffered + size > maxBufferedAmount) return this.dropped('high-water-mark');
        if (!this.aboveHighWater) {
          this.aboveHighWater = true;
          this.emit('highWaterMark', buffered + size);
        }
        return undefined;
      case 'drop':
        return this.dropped('high-water-mark');
      case 'close-1008':
      case 'close-1013':
        this.close(highWaterPolicy === 'close-1008' ? 1008 : 1013, 'send buffer full');
        return this.dropped('high-water-mark');
    }
  }

  private dropped(reason: 'closed' | 'high-water-mark'): SendResult {
    return { status: 'dropped', reason, bufferedAmount: this.bufferedAmount };
  }

  private afterSend(): SendResult {
    if (this.dispatching || this.corked > 0) return { status: 'queued', bufferedAmount: this.bufferedAmount };
    this.writeOutput();
    this.actOnTransport();
    const bufferedAmount = this.bufferedAmount;
    return { status: bufferedAmount === 0 ? 'written' : 'queued', bufferedAmount };
  }

  private afterCommand(): void {
    if (this.dispatching || this.corked > 0) return;
    this.writeOutput();
    this.actOnTransport();
  }

  private onData(chunk: Uint8Array): void {
    this.lastReceivedAt = Date.now();
    this.engine.receive(chunk);
    this.process();
  }

  private onEnd(): void {
    this.engine.receiveEnd();
    this.process();
    if (!this.socket.writableEnded) this.socket.end();
  }

  /** Asynchronous compressor work finished: deliver its events and output. */
  private wake(): void {
    if (this.dispatching) {
      this.wakeupPending = true;
      return;
    }
    queueMicrotask(() => this.process());
  }

  /** Delivers the engine's events, then writes everything they produced in one batch. */
  private process(): void {
    if (this.dispatching) {
      this.wakeupPending = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.wakeupPending = false;
        const events = this.engine.takeEvents();
        for (let i = 0; i < events.length; i++) {
          try {
            this.dispatch(events[i] as ConnectionEvent);
          } catch (error) {
            // A throwing listener must not take the process down or leave the batch half-written.
            this.listenerFailed(error);
          }
        }
      } while (this.wakeupPending);
    } finally {
      this.dispatching = false;
    }
    this.writeOutput();
    this.actOnTransport();
  }

  private dispatch(event: ConnectionEvent): void {
    switch (event.type) {
      case 'text': {
        if (!this.allowMessage()) return;
        const answer = this.runtime.intercept?.(event.data);
        if (answer !== undefined) {
          // Once our close frame is out nothing more may be sent: the ping goes unanswered.
          if (this.engine.state === 'open') this.engine.sendText(answer);
          return;
        }
        this.deliver(event.data, false);
        return;
      }
      case 'binary': {
        if (!this.allowMessage()) return;
        this.deliver(this.runtime.options.binaryType === 'buffer' ? asBuffer(event.data) : plainView(event.data), true);
        return;
      }
      case 'ping':
        this.emit('ping', event.data);
        return;
      case 'pong':
        this.emit('pong', event.data);
        return;
      case 'close':
        this.closeEvent = { code: event.code, reason: event.reason, wasClean: event.wasClean };
        if (event.error !== undefined) this.emitError(new WebSocketProtocolError(event.error));
        return;
    }
  }

  private allowMessage(): boolean {
    this.lastMessageAt = this.lastReceivedAt;
    if (this.bucket === undefined) return true;
    // Once over the limit, nothing more reaches the application, even if tokens refill.
    if (this.rateLimited || !this.bucket.take()) {
      this.rateLimited = true;
      if (this.engine.state === 'open') this.engine.close(1008, 'rate limit exceeded');
      return false;
    }
    return true;
  }

  private deliver(data: Message, isBinary: boolean): void {
    this.inbox?.push({ data, isBinary });
    this.emit('message', data, isBinary);
  }

  private listenerFailed(error: unknown): void {
    this.emitError(error instanceof Error ? error : new Error(String(error)));
    if (this.engine.state === 'open') this.engine.close(1011, 'internal error');
  }

  /** Writes the engine's pending output: small batches as one buffer, large ones corked (writev). */
  private writeOutput(): void {
    const chunks = this.engine.takeOutput();
    if (chunks.length > 0 && !this.socketClosed && this.socket.writable) {
      let ok: boolean;
      if (chunks.length === 1) {
        ok = this.socket.write(chunks[0] as Uint8Array);
      } else {
        let total = 0;
        for (let i = 0; i < chunks.length; i++) total += (chunks[i] as Uint8Array).byteLength;
        if (total <= SMALL_WRITE) {
          ok = this.socket.write(Buffer.concat(chunks, total));
        } else {
          this.socket.cork();
          ok = true;
          for (let i = 0; i < chunks.length; i++) ok = this.socket.write(chunks[i] as Uint8Array);
          this.socket.uncork();
        }
      }
      if (!ok) this.writeBlocked = true;
    }
    if (this.flushWaiters !== undefined && this.engine.bufferedOutput === 0) this.settleFlushWaiters();
  }

  private settleFlushWaiters(): void {
    const waiters = this.flushWaiters ?? [];
    this.flushWaiters = undefined;
    if (this.socket.writableLength === 0) {
      for (const waiter of waiters) waiter.resolve();
      return;
    }
    // An empty write completes after every write before it.
    this.socket.write(EMPTY, (error) => {
      for (const waiter of waiters) {
        if (error) waiter.reject(new SendError('connection closed before the data was written', 'closed'));
        else waiter.resolve();
      }
    });
  }

  private actOnTransport(): void {
    switch (this.engine.transportAction) {
      case 'none':
        return;
      case 'await-close':
        this.closeTimer ??= this.timer(() => this.socket.destroy());
        return;
      case 'end-transport':
        if (!this.socket.writableEnded) this.socket.end();
        this.endTimer ??= this.timer(() => this.socket.destroy());
        return;
      case 'await-transport-end':
        this.endTimer ??= this.timer(() => this.socket.destroy());
        return;
    }
  }

  private timer(fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(fn, this.runtime.options.closeTimeout);
    timer.unref();
    return timer;
  }

  private onDrain(): void {
    if (this.aboveHighWater && this.bufferedAmount < this.runtime.options.highWaterMark) this.aboveHighWater = false;
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    this.emit('drain');
  }

  private onSocketError(error: Error): void {
    // ECONNRESET and friends: the close event reports 1006; listeners may want the cause.
    this.emitError(error);
  }

  private onSocketClose(): void {
    if (this.socketClosed) return;
    this.socketClosed = true;
    clearTimeout(this.closeTimer);
    clearTimeout(this.endTimer);
    this.runtime.heartbeat?.delete(this);
    if (this.closeEvent === undefined) {
      this.engine.receiveEnd();
      this.dispatching = true;
      try {
        for (const event of this.engine.takeEvents()) {
          try {
            this.dispatch(event);
          } catch (error) {
            this.emitError(error instanceof Error ? error : new Error(String(error)));
          }
        }
      } finally {
        this.dispatching = false;
      }
      this.engine.takeOutput();
    }
    this.compressor?.dispose();
    this.inbox?.end();
    const waiters = this.flushWaiters ?? [];
    this.flushWaiters = undefined;
    for (const waiter of waiters) waiter.reject(new SendError('connection closed before the data was written', 'closed'));
    const { code, reason, wasClean } = this.closeEvent ?? { code: 1006, reason: '', wasClean: false };
    this.runtime.onClosed?.(this as WebSocketConnection<unknown>);
    this.emit('close', code, reason, wasClean);
  }

  private emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}
