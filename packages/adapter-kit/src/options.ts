import type { RateLimitOptions } from './token-bucket.js';

/**
 * What `send` does when the connection already buffers `highWaterMark` bytes:
 * - `queue`: accept anyway (the `highWaterMark` event fires once per crossing) up to
 *   `maxBufferedAmount`, beyond which messages are dropped;
 * - `drop`: refuse the message (`{ status: 'dropped', reason: 'high-water-mark' }`);
 * - `close-1008` / `close-1013`: refuse it and close the connection with that code, so the
 *   peer reconnects and resynchronises instead of silently missing messages.
 */
export type HighWaterPolicy = 'queue' | 'drop' | 'close-1008' | 'close-1013';

/** Options shared by the server's connections and the client, with the same names and defaults in every adapter. */
export interface ConnectionOptions {
  /** Largest message accepted, counted after inflation (bytes). Above it: close 1009. Default 1 MiB. */
  readonly maxPayload?: number;
  /** Most fragments in one message. Default: max(1024, maxPayload / 64), so it scales with maxPayload. */
  readonly maxFragments?: number;
  /** After `close()`, how long to wait for the peer's close frame (and TCP end) before destroying the socket (ms). Default 10 000. */
  readonly closeTimeout?: number;
  /** Buffered bytes above which `highWaterPolicy` applies. Default 16 MiB. */
  readonly highWaterMark?: number;
  /** Default `close-1013` on the server, `queue` on the client (the WHATWG API has no way to refuse a send). */
  readonly highWaterPolicy?: HighWaterPolicy;
  /** Hard cap for the `queue` policy. Default 4 × highWaterMark. */
  readonly maxBufferedAmount?: number;
  /** Messages waiting for an async iterator or message handler before the socket stops being read. Default 16. */
  readonly maxQueuedMessages?: number;
  /** Per-connection token bucket on received messages; exceeding it closes with 1008. Default none. */
  readonly rateLimit?: RateLimitOptions;
  /** Ping a silent peer this often (ms, 0 = off). Default 30 000 on the server, 0 on the client. */
  readonly heartbeatInterval?: number;
  /** Terminate a peer that has not answered a ping within this long (ms). Default 10 000. */
  readonly heartbeatTimeout?: number;
  /** Close (1001) a peer that has sent no message for this long (ms, 0 = off). Default 0. */
  readonly idleTimeout?: number;
  /**
   * Destroy (1006) a connection whose peer has taken none of our bytes for this long while output
   * waits (ms, 0 = off): a peer that never reads cannot hold its buffers forever. Default 60 000.
   */
  readonly writeStallTimeout?: number;
}

/** `ConnectionOptions` with every default filled in and every number checked. */
export interface ResolvedConnectionOptions {
  readonly maxPayload: number;
  readonly maxFragments: number;
  readonly closeTimeout: number;
  readonly highWaterMark: number;
  readonly highWaterPolicy: HighWaterPolicy;
  readonly maxBufferedAmount: number;
  readonly maxQueuedMessages: number;
  readonly rateLimit: RateLimitOptions | undefined;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  readonly idleTimeout: number;
  readonly writeStallTimeout: number;
}

export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
export const DEFAULT_HIGH_WATER_MARK = 16 * 1024 * 1024;
export const DEFAULT_WRITE_STALL_TIMEOUT = 60_000;
/**
 * Reading stops while this many bytes wait in this process for the peer to take them, and
 * resumes once they are gone: a peer that sends without reading (a ping flood whose pongs it
 * never reads) cannot make us buffer on its behalf.
 */
export const READ_PAUSE_UNSENT_BYTES = 1024 * 1024;
/**
 * Received bytes waiting behind a message being inflated beyond which reading pauses until the
 * inflation catches up: a peer that sends compressed messages faster than zlib inflates them
 * cannot make us queue its bytes in memory.
 */
export const READ_PAUSE_INFLATE_BYTES = 256 * 1024;

/** The fragment limit that lets a message of `maxPayload` bytes arrive in 64-byte fragments. */
export function defaultMaxFragments(maxPayload: number): number {
  return Math.max(1024, Math.ceil(maxPayload / 64));
}

/** `value`, or a RangeError naming the option when it is negative or NaN. */
function nonNegative(name: string, value: number): number {
  if (!(value >= 0)) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  return value;
}

/**
 * Fills in the defaults (which differ by side where the WHATWG client API leaves no choice) and
 * refuses bad numbers at construction, not at the first connection.
 */
export function resolveConnectionOptions(options: ConnectionOptions, side: 'server' | 'client'): ResolvedConnectionOptions {
  const maxPayload = nonNegative('maxPayload', options.maxPayload ?? DEFAULT_MAX_PAYLOAD);
  const highWaterMark = nonNegative('highWaterMark', options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK);
  return {
    maxPayload,
    maxFragments: nonNegative('maxFragments', options.maxFragments ?? defaultMaxFragments(maxPayload)),
    closeTimeout: nonNegative('closeTimeout', options.closeTimeout ?? 10_000),
    highWaterMark,
    highWaterPolicy: options.highWaterPolicy ?? (side === 'server' ? 'close-1013' : 'queue'),
    maxBufferedAmount: nonNegative('maxBufferedAmount', options.maxBufferedAmount ?? highWaterMark * 4),
    maxQueuedMessages: Math.max(1, options.maxQueuedMessages ?? 16),
    rateLimit: options.rateLimit,
    heartbeatInterval: nonNegative('heartbeatInterval', options.heartbeatInterval ?? (side === 'server' ? 30_000 : 0)),
    heartbeatTimeout: nonNegative('heartbeatTimeout', options.heartbeatTimeout ?? 10_000),
    idleTimeout: nonNegative('idleTimeout', options.idleTimeout ?? 0),
    writeStallTimeout: nonNegative('writeStallTimeout', options.writeStallTimeout ?? DEFAULT_WRITE_STALL_TIMEOUT),
  };
}
