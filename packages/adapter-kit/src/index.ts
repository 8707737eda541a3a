/**
 * `@switchyard/adapter-kit`: the runtime-neutral core every Switchyard adapter shares. The
 * connection, its heartbeat, limits and backpressure exist here once, written against the
 * `Transport` interface; Node, Deno and Bun each supply only a transport and their listener
 * glue. Nothing here opens a socket; the compressor needs only `node:zlib`, which Node, Deno
 * and Bun all provide.
 */
export { WebSocketConnection, createHeartbeat, HOLD_WRITES, RELEASE_WRITES } from './connection.js';
export type {
  ConnectionHeartbeat,
  ConnectionSetup,
  NegotiatedDeflate,
  MessageHandler,
  MessageSendOptions,
  WebSocketConnectionEvents,
} from './connection.js';
export type { Transport, TransportHandler } from './transport.js';
export { totalLength } from './transport.js';
export { TypedEmitter } from './emitter.js';
export type { EventMap } from './emitter.js';
export { HeartbeatMonitor, sweepPeriod } from './heartbeat.js';
export type { HeartbeatSettings } from './heartbeat.js';
export { AcceptError, HandshakeError, HeartbeatTimeoutError, SendError, WebSocketProtocolError, WriteStallError } from './errors.js';
export { ZlibCompressor } from './compressor.js';
export type { ClientDeflateOptions, CompressionOptions, ServerDeflateOptions, ZlibTuning } from './compressor.js';
export { ConcurrencyLimiter, clientCompressionLimiter } from './limiter.js';
export { TokenBucket } from './token-bucket.js';
export type { RateLimitOptions } from './token-bucket.js';
export { Inbox } from './inbox.js';
export {
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_PAYLOAD,
  DEFAULT_WRITE_STALL_TIMEOUT,
  READ_PAUSE_INFLATE_BYTES,
  READ_PAUSE_UNSENT_BYTES,
  defaultMaxFragments,
  resolveConnectionOptions,
} from './options.js';
export type { ConnectionOptions, HighWaterPolicy, ResolvedConnectionOptions } from './options.js';
export { concatChunks, toBytes, utf8ByteLength } from './data.js';
export type { Message, SendData } from './data.js';
export type { AuthAccept, AuthReject, AuthRejectClose, AuthRejectHttp, AuthResult, HeadersInit } from './auth.js';
export { toHeaderList } from './headers.js';
export { BaseWebSocket, CONNECTING, OPEN, CLOSING, CLOSED, DEFAULT_CLIENT_HANDSHAKE_TIMEOUT } from './client/websocket.js';
export type { BinaryType, ClientOptions, ReadyState, WebSocketEventMap, WebSocketSendData } from './client/websocket.js';
export type { Connect } from './client/handshake.js';
export { CloseEvent, ErrorEvent } from './client/events.js';
export type { BaseEventInit, CloseEventInit, ErrorEventInit } from './client/events.js';
export { ServerCore } from './server/core.js';
export type { AcceptedAdmission, AcceptedUpgrade, Admission, OpenRequest, PendingHandshake } from './server/core.js';
export {
  DEFAULT_DEFLATE_CONCURRENCY,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_MAX_HEADERS,
  DEFAULT_MAX_HEADER_SIZE,
  resolveServerPolicy,
} from './server/options.js';
export type { ResolvedServerPolicy, ServerHooks, ServerPolicyOptions } from './server/options.js';
export { REASON_PHRASES, httpResponse, isSafeHeader } from './server/http-response.js';
