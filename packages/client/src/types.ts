import type {
  ClientMessages,
  ClientMessageType,
  ProtocolShape,
  ReplyData,
  RequestPayload,
  RequestType,
  ServerMessages,
  ServerMessageType,
} from './protocol.js';
import type { Serializer } from './serializer.js';
import type { SchemaIssue } from './validate.js';

// Handlers are declared with method syntax so that the DOM's, ws's, Deno's and Bun's
// WebSocket types, whose handlers take richer event types, are all assignable.
type Handler<E> = { handle(event: E): void }['handle'];

/** The part of the WHATWG WebSocket interface the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ readonly data: unknown }> | null;
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Where `online` and `offline` events come from: a browser's `window`, or anything alike. */
export interface OnlineEventTarget {
  addEventListener(type: 'online' | 'offline', listener: () => void): void;
  removeEventListener(type: 'online' | 'offline', listener: () => void): void;
}

export type UrlSource = string | URL | (() => string | URL | Promise<string | URL>);

export interface ClientOptions {
  /** The server's URL, or a function (maybe async) called before every (re)connect — e.g. to put a fresh short-lived token in the query. */
  url: UrlSource;
  /** Subprotocols offered on every connect. */
  protocols?: string | string[];
  /** The WebSocket constructor. Default: `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Source of `online`/`offline` events. Default: `globalThis` when it has `addEventListener`; `null` to ignore them. */
  window?: OnlineEventTarget | null;
  /** Default: JSON in text frames. */
  serializer?: Serializer;
  /** Connect as soon as the client is created. Default: true. */
  autoConnect?: boolean;
  /** ms for the URL provider and the opening handshake together. Default: 10 000. */
  connectTimeout?: number;
  /** Upper bound (ms) of the first retry's random delay. Default: 1 000. */
  initialDelay?: number;
  /** Growth of the delay bound per failed attempt. Default: 2. */
  backoffFactor?: number;
  /** Cap (ms) of the delay bound. Default: 30 000. */
  maxDelay?: number;
  /** Consecutive attempts without a stable connection before giving up (state `closed`, reason `max-attempts`). Default: Infinity. */
  maxAttempts?: number;
  /** ms a connection must stay open before the attempt count resets. Default: 5 000. */
  minOpenTime?: number;
  /** Close codes after which the client does not reconnect. Default: none. */
  fatalCloseCodes?: readonly number[];
  /** Close codes that mean the credentials were refused: fatal, and `onAuthFailure` is called. Default: [4001, 4003]. */
  authFailureCodes?: readonly number[];
  /** Called when the server closed with an auth failure code; the client is `closed` — refresh credentials, then `connect()`. */
  onAuthFailure?: (close: { readonly code: number; readonly reason: string }) => void;
  /** Most messages held while not connected. Default: 1 000. */
  queueMaxCount?: number;
  /** Most bytes (encoded) held while not connected. Default: 1 MiB. */
  queueMaxBytes?: number;
  /** ms a queued message may wait before it is dropped (reported). Default: Infinity. */
  queueTtl?: number;
  /** ms between heartbeat pings while open; 0 turns heartbeats off. Default: 25 000. */
  heartbeatInterval?: number;
  /** ms to wait for a reply to a ping (any incoming message counts) before reconnecting. Default: 10 000. */
  heartbeatTimeout?: number;
  /** Default timeout (ms) of `request`. Default: 10 000. */
  requestTimeout?: number;
  /** Send the last seen sequence per topic on reconnect and drop duplicates. Default: true. */
  resume?: boolean;
  /** Source of randomness for jitter, in [0, 1). Default: Math.random. */
  random?: () => number;
}

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export type StateReason =
  /** `connect()` (or `autoConnect`). */
  | 'connect'
  /** The backoff timer fired. */
  | 'retry'
  /** The browser came back online while waiting to retry. */
  | 'online'
  /** The socket opened. */
  | 'open'
  /** The socket closed (see `code`). */
  | 'socket-closed'
  /** The URL provider or the WebSocket constructor threw (see `error`). */
  | 'connect-error'
  /** Not open within `connectTimeout`. */
  | 'connect-timeout'
  /** No reply to a heartbeat ping within `heartbeatTimeout`. */
  | 'heartbeat-timeout'
  /** The app called `close()`. */
  | 'app-close'
  /** The server closed with a fatal or auth-failure code. */
  | 'fatal-code'
  /** `maxAttempts` consecutive attempts failed. */
  | 'max-attempts';

export interface StateChange {
  readonly state: ClientState;
  readonly previous: ClientState;
  readonly reason: StateReason;
  /** The attempt in progress (connecting), scheduled (reconnecting), that succeeded (open) or last made (closed), counted since the connection was last stable. */
  readonly attempt: number;
  /** When reconnecting: the delay (ms) and the time (epoch ms) of the next attempt. */
  readonly delay?: number;
  readonly nextRetryAt?: number;
  /** The close code and reason, when a socket close caused the change. */
  readonly code?: number;
  readonly closeReason?: string;
  /** The error, when reason is 'connect-error'. */
  readonly error?: unknown;
}

export type DropReason = 'queue-full' | 'expired' | 'closed';

/** A message or request that will never be sent. */
export interface DropEvent {
  readonly reason: DropReason;
  readonly kind: 'message' | 'request';
  readonly type: string;
  readonly data: unknown;
}

/** Something arrived that is not delivered. */
export type InvalidEvent =
  /** The serializer could not decode the frame. */
  | { readonly kind: 'undecodable'; readonly data: unknown; readonly error: unknown }
  /** Decoded, but not a valid envelope. */
  | { readonly kind: 'envelope'; readonly data: unknown; readonly error: string }
  /** A server event whose payload failed the protocol's validator. */
  | { readonly kind: 'payload'; readonly type: string; readonly data: unknown; readonly issues: readonly SchemaIssue[] };

export interface ClientEvents {
  state: StateChange;
  drop: DropEvent;
  invalid: InvalidEvent;
  /** Messages `from`..`to` of `topic` were missed: announced by the server, or seen as a jump in `seq`. */
  gap: { readonly topic: string; readonly from: number; readonly to: number };
  /** The server cannot replay `topic`: reload its state. */
  resync: { readonly topic: string };
}

/** Where a server event came from, when it belongs to a stream. */
export interface MessageMeta {
  readonly topic?: string;
  readonly seq?: number;
}

/** `sent`: handed to an open socket. `queued`: will be sent, in order, after (re)connecting. `dropped`: will never be sent (a `drop` event says why). */
export type SendResult = 'sent' | 'queued' | 'dropped';

export interface RequestOptions {
  /** ms until the request is rejected with code 'timeout'. Default: the client's `requestTimeout`. */
  timeout?: number;
  /** Safe to send twice: re-sent after a reconnect instead of being rejected with 'disconnected'. Default: false. */
  idempotent?: boolean;
}

type PayloadArgs<T> = undefined extends T ? [data?: T] : [data: T];

export interface Client<P extends ProtocolShape> {
  readonly state: ClientState;
  /** Sends an event now, or queues it while not connected. */
  send<K extends ClientMessageType<P>>(type: K, ...data: PayloadArgs<ClientMessages<P>[K]>): SendResult;
  /** Sends a request and resolves with the reply's data; rejects with a `RequestError`. */
  request<K extends RequestType<P>>(
    type: K,
    ...args: [...PayloadArgs<RequestPayload<P, K>>, options?: RequestOptions]
  ): Promise<ReplyData<P, K>>;
  /** Listens to a server event. Returns a function that removes the listener. */
  on<K extends ServerMessageType<P>>(type: K, listener: (data: ServerMessages<P>[K], meta: MessageMeta) => void): () => void;
  /** Listens to the client's own events. Returns a function that removes the listener. */
  onEvent<K extends keyof ClientEvents>(name: K, listener: (event: ClientEvents[K]) => void): () => void;
  /** Starts connecting (from `idle` or `closed`); does nothing otherwise. */
  connect(): void;
  /** Closes for good (until `connect()`): no reconnect; queued messages and pending requests are dropped and reported. */
  close(code?: number, reason?: string): void;
  /**
   * The client's resume point for a topic: the last seq it accounted for, with the stream's
   * epoch and that entry's id when the server gives them (known from the subscription's start,
   * before any message arrives). Store it to resume later with `resumeFrom`.
   */
  position(topic: string): StreamPosition | undefined;
  /**
   * Resume a topic from a known position (e.g. one the app stored): it is sent in a `resume`
   * frame now if connected, and on every (re)connect until the stream moves it on. The server
   * replays what came after it, or answers `resync` if it is not a place in its stream.
   */
  resumeFrom(topic: string, position: StreamPosition): void;
}

/** A place in a topic's stream (see `@switchyard/wire`). */
export interface StreamPosition {
  readonly seq: number;
  readonly epoch?: string;
  readonly id?: string;
}
