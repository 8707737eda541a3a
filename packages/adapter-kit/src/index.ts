/**
 * `@switchyard/adapter-kit`: the runtime-neutral pieces every Switchyard adapter shares. Nothing
 * here touches a socket or a timer; the compressor needs only `node:zlib`, which Node, Deno and
 * Bun all provide.
 */
export { ZlibCompressor } from './compressor.js';
export type { ClientDeflateOptions, CompressionOptions, ServerDeflateOptions, ZlibTuning } from './compressor.js';
export { ConcurrencyLimiter } from './limiter.js';
export { TokenBucket } from './token-bucket.js';
export type { RateLimitOptions } from './token-bucket.js';
export { Inbox } from './inbox.js';
export {
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_PAYLOAD,
  defaultMaxFragments,
  resolveConnectionOptions,
} from './options.js';
export type { ConnectionOptions, HighWaterPolicy, ResolvedConnectionOptions } from './options.js';
export { concatChunks, toBytes } from './data.js';
export type { Message, SendData } from './data.js';
export type { AuthAccept, AuthReject, AuthResult, HeadersInit } from './auth.js';
