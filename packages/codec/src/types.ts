/**
 * The public vocabulary of the sans-I/O connection: what an adapter feeds in, what it gets
 * back, and what it must do about it. Every adapter (Node, Deno, Bun) and the hub are written
 * against these types only.
 */

/** Which end of the connection this engine plays. It decides the masking rules (RFC 6455 §5.1). */
export type Role = 'client' | 'server';

/**
 * `open`: data flows both ways. `closing`: a close frame went one way and the engine waits for
 * the other. `closed`: the close handshake is over (or the connection failed); only the
 * transport remains to be ended.
 */
export type ConnectionState = 'open' | 'closing' | 'closed';

/** Who started the close: this end (`local`), the peer (`remote`), or nobody cleanly (`failure`). */
export type CloseInitiator = 'local' | 'remote' | 'failure';

/** A complete message or control frame received from the peer, or the end of the connection. */
export type ConnectionEvent =
  | { readonly type: 'text'; readonly data: string }
  | { readonly type: 'binary'; readonly data: Uint8Array }
  | { readonly type: 'ping'; readonly data: Uint8Array }
  | { readonly type: 'pong'; readonly data: Uint8Array }
  | CloseEvent;

/**
 * Emitted exactly once per connection, when the connection reaches `closed`.
 *
 * - `code`/`reason`: what the peer sent in its close frame; 1005 (no status) if its close frame
 *   was empty; 1006 (abnormal) if the transport ended without a close frame; or, on a protocol
 *   violation, the code this end sent (1002, 1007, 1009, …).
 * - `wasClean`: both close frames were exchanged.
 * - `error`: set when this end failed the connection because of the peer's bytes.
 */
export interface CloseEvent {
  readonly type: 'close';
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  readonly initiator: CloseInitiator;
  readonly error?: ProtocolViolation;
}

/** One code per RFC 6455 / RFC 7692 rule the peer can break; `closeCode` is what was sent. */
export interface ProtocolViolation {
  readonly kind: ProtocolViolationKind;
  readonly closeCode: number;
  readonly message: string;
}

export type ProtocolViolationKind =
  | 'reserved-bits'
  | 'reserved-opcode'
  | 'unmasked-client-frame'
  | 'masked-server-frame'
  | 'fragmented-control-frame'
  | 'control-frame-too-long'
  | 'non-minimal-length'
  | 'length-msb-set'
  | 'unexpected-continuation'
  | 'expected-continuation'
  | 'invalid-utf8'
  | 'invalid-close-payload'
  | 'invalid-close-code'
  | 'message-too-big'
  | 'too-many-fragments'
  | 'compressed-control-frame'
  | 'compressed-continuation'
  | 'inflate-failed';

/**
 * What the adapter should do with its transport next. Read it after every `receive`,
 * `receiveEnd` and send call (and after `onWakeup`).
 *
 * - `none`: keep reading and writing.
 * - `await-close`: a close frame was queued by this end; arm the close timer and, if it
 *   fires, destroy the transport (the peer never answered).
 * - `end-transport`: write the remaining output, then end the transport (a server ends TCP
 *   first, RFC 6455 §7.1.1).
 * - `await-transport-end`: a client whose close handshake finished waits for the server to end
 *   TCP; arm a timer and end it itself if the server does not.
 */
export type TransportAction = 'none' | 'await-close' | 'end-transport' | 'await-transport-end';

/** Options for sending one data message. */
export interface SendOptions {
  /** Split the message into frames of at most this many payload bytes (default: one frame). */
  readonly fragmentSize?: number;
  /** Compress this message when permessage-deflate is negotiated (default: per `threshold`). */
  readonly compress?: boolean;
}

/**
 * The compressor an adapter provides when permessage-deflate is negotiated (node:zlib in Node,
 * node:zlib compat or CompressionStream in Deno and Bun). Work may be asynchronous; the
 * connection keeps message order and calls `onWakeup` when results are ready.
 */
export interface Compressor {
  /** Compress one whole message; the result has the trailing 00 00 ff ff removed (RFC 7692 §7.2.1). */
  compress(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /**
   * Inflate one whole message (the 00 00 ff ff tail is appended by the caller). Resolve with
   * `null` as soon as the output would exceed `maxSize` bytes, without producing the rest: this
   * is what stops a decompression bomb.
   */
  decompress(data: readonly Uint8Array[], maxSize: number): Uint8Array | null | Promise<Uint8Array | null>;
  /** Free native resources. */
  dispose(): void;
}

/** Bytes prepared once for many connections (broadcast): a complete unmasked server frame. */
export interface PreparedMessage {
  readonly binary: boolean;
  /** The frame as header and payload chunks, ready for writev. */
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
  /** The message payload, for connections that must encode it themselves (e.g. deflate). */
  readonly payload: Uint8Array;
}

/**
 * What every adapter's `send` returns, so an application always knows whether its data left:
 * `written` — handed to the transport with nothing waiting before it; `queued` — accepted and
 * buffered in this process (`bufferedAmount` says how much), it will be written in order;
 * `dropped` — not accepted: the connection is closing or closed, or the high-water mark policy
 * refused it (the policy may also have closed the connection).
 */
export type SendResult =
  | { readonly status: 'written'; readonly bufferedAmount: number }
  | { readonly status: 'queued'; readonly bufferedAmount: number }
  | { readonly status: 'dropped'; readonly reason: 'closed' | 'high-water-mark'; readonly bufferedAmount: number };

/**
 * The adapter-neutral surface of a server-side connection: what the hub (and any code that must
 * run on Node, Deno and Bun alike) relies on. Every adapter's connection class satisfies it.
 */
export interface PeerConnection {
  send(data: string | Uint8Array, options?: { readonly binary?: boolean }): SendResult;
  /** Write a frame prepared once with `prepareMessage` (broadcast: no per-connection encoding). */
  sendPrepared(message: PreparedMessage): SendResult;
  /** Bytes accepted by `send` and not yet handed to the transport. */
  readonly bufferedAmount: number;
  close(code?: number, reason?: string): void;
  /** Registers a listener for the end of the connection (clean or not). */
  once(event: 'close', listener: (code: number, reason: string) => void): unknown;
  /**
   * Optional: hold writes back (nestable, as Node's `socket.cork()`) until the matching
   * `uncork`, which writes everything held at once. Sends in between are accepted in order and
   * counted in `bufferedAmount`. A connection without it writes each send as it comes.
   */
  cork?(): void;
  uncork?(): void;
}
