import { validateUpgradeRequest, type DeflateServerOptions, type UpgradeServerOptions } from '@switchyard/codec';
import { answerHeartbeat } from '@switchyard/wire';
import type { AuthResult } from '../auth.js';
import type { ServerDeflateOptions } from '../compressor.js';
import { toHeaderList, type HeadersInit } from '../headers.js';
import { ConcurrencyLimiter } from '../limiter.js';
import type { ConnectionOptions } from '../options.js';

/** Time from the start of a handshake to its 101, `authenticate` included (ms). */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
/** Most header lines in an upgrade request. */
export const DEFAULT_MAX_HEADERS = 128;
/** Largest request head in bytes. */
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;
/** Compressions and decompressions running at once per server. */
export const DEFAULT_DEFLATE_CONCURRENCY = 10;

/** The admission and connection policy every server shares, whatever its runtime. */
export interface ServerPolicyOptions extends ConnectionOptions {
  /** Allowed `Origin`s (others get 403): a list, or a function. Default: any origin. */
  readonly origins?: readonly string[] | ((origin: string | undefined) => boolean);
  /** Connections open at once, handshakes in progress included; beyond it: 503 with `Retry-After: 1`. Default: unlimited. */
  readonly maxConnections?: number;
  /** From the start of the handshake to the 101, `authenticate` included, in ms; then 408. Default 10 000. */
  readonly handshakeTimeout?: number;
  /** Largest request head in bytes; 431 above it. Default 16 384. */
  readonly maxHeaderSize?: number;
  /** Most header lines in an upgrade request; more get 431. Default 128. */
  readonly maxHeaders?: number;
  /** permessage-deflate: off by default. `true` accepts with the RFC defaults. */
  readonly perMessageDeflate?: boolean | ServerDeflateOptions;
  /** Headers added to every 101 response. */
  readonly extraHeaders?: HeadersInit;
  /**
   * Answer application-level heartbeat pings (text messages) before they reach the app.
   * `true` answers the JSON pings of @switchyard/client (`{"t":"ping","ts":…}` → `{"t":"pong","ts":…}`);
   * a function returns the reply for its own format, or `undefined` for an ordinary message.
   * Default: off.
   */
  readonly appHeartbeat?: boolean | ((text: string) => string | undefined);
}

/** The hooks that see the runtime's own request object (`IncomingMessage`, `Request`, …). */
export interface ServerHooks<User, Req> {
  /**
   * Admission: runs after the request passed the protocol checks and before the 101. Return
   * `{ ok: true, user }` to accept or `{ ok: false, status }` to refuse. Exceptions refuse with 500.
   */
  readonly authenticate?: ((request: Req) => AuthResult<User> | Promise<AuthResult<User>>) | undefined;
  /** Subprotocols in order of preference, or a function choosing among those offered. */
  readonly protocols?: readonly string[] | ((offered: readonly string[], request: Req) => string | undefined) | undefined;
}

/** A server's policy, resolved and validated once, at construction. */
export interface ResolvedServerPolicy {
  readonly upgrade: UpgradeServerOptions;
  readonly deflate: ServerDeflateOptions | undefined;
  readonly limiter: ConcurrencyLimiter | undefined;
  readonly handshakeTimeout: number;
  readonly maxConnections: number;
  readonly maxHeaders: number;
  readonly maxHeaderSize: number;
  readonly intercept: ((text: string) => string | undefined) | undefined;
}

/**
 * Resolves the defaults and validates every option now (bad protocol names, deflate values,
 * extra headers, limits), so that a misconfigured server fails at construction, not at the
 * first connection.
 */
export function resolveServerPolicy<User, Req>(options: ServerPolicyOptions & ServerHooks<User, Req>): ResolvedServerPolicy {
  const deflate = options.perMessageDeflate === true ? {} : options.perMessageDeflate || undefined;
  const handshakeTimeout = positive(options.handshakeTimeout, DEFAULT_HANDSHAKE_TIMEOUT, 'handshakeTimeout');
  // 0 is a server that refuses every upgrade (maintenance), not a mistake.
  const maxConnections = positive(options.maxConnections, Number.POSITIVE_INFINITY, 'maxConnections', true);
  const maxHeaders = positive(options.maxHeaders, DEFAULT_MAX_HEADERS, 'maxHeaders');
  const maxHeaderSize = positive(options.maxHeaderSize, DEFAULT_MAX_HEADER_SIZE, 'maxHeaderSize');
  const upgrade: UpgradeServerOptions = {
    ...(options.origins !== undefined ? { origins: options.origins } : {}),
    ...(Array.isArray(options.protocols) ? { protocols: options.protocols as readonly string[] } : {}),
    ...(options.extraHeaders !== undefined ? { extraHeaders: toHeaderList(options.extraHeaders) } : {}),
    maxHeaders,
    perMessageDeflate: deflate ? deflateNegotiation(deflate) : false,
  };
  validateUpgradeRequest({ method: 'GET', version: '1.1', headers: [] }, upgrade);
  return {
    upgrade,
    deflate,
    limiter: deflate ? new ConcurrencyLimiter(deflate.concurrencyLimit ?? DEFAULT_DEFLATE_CONCURRENCY) : undefined,
    handshakeTimeout,
    maxConnections,
    maxHeaders,
    maxHeaderSize,
    intercept: options.appHeartbeat === true ? answerHeartbeat : options.appHeartbeat || undefined,
  };
}

/** The RFC 7692 part of the deflate options (the zlib tuning stays with the compressor). */
function deflateNegotiation(options: ServerDeflateOptions): DeflateServerOptions {
  return {
    ...(options.serverNoContextTakeover !== undefined ? { serverNoContextTakeover: options.serverNoContextTakeover } : {}),
    ...(options.clientNoContextTakeover !== undefined ? { clientNoContextTakeover: options.clientNoContextTakeover } : {}),
    ...(options.serverMaxWindowBits !== undefined ? { serverMaxWindowBits: options.serverMaxWindowBits } : {}),
    ...(options.clientMaxWindowBits !== undefined ? { clientMaxWindowBits: options.clientMaxWindowBits } : {}),
  };
}

function positive(value: number | undefined, fallback: number, name: string, zeroAllowed = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    throw new RangeError(`${name} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number, got ${String(value)}`);
  }
  return value;
}
