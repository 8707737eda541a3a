export { WebSocketServer } from './server.js';
export { watchAcceptErrors } from './accept-errors.js';
export type { WebSocketServerOptions, WebSocketServerEvents, AuthResult, AuthAccept, AuthReject, AuthRejectClose, AuthRejectHttp, HeadersInit } from './server.js';
export { WebSocketConnection } from './connection.js';
export type { Message, MessageHandler, MessageSendOptions, WebSocketConnectionEvents, ConnectionInfo } from './connection.js';
export type { ConnectionOptions, ServerDeflateOptions, ClientDeflateOptions, HighWaterPolicy, BinaryType } from './options.js';
export { DEFAULT_MAX_PAYLOAD, DEFAULT_HIGH_WATER_MARK, defaultMaxFragments } from './options.js';
export type { RateLimitOptions, ZlibTuning } from '@switchyard/adapter-kit';
// The shared node:zlib compressor, under the name this package has always exported it by.
export { ZlibCompressor as NodeCompressor, ConcurrencyLimiter } from '@switchyard/adapter-kit';
export { AcceptError, WebSocketProtocolError, HandshakeError, SendError, HeartbeatTimeoutError, WriteStallError } from './errors.js';
export type { SendData } from '@switchyard/adapter-kit';
export type { SendResult, PreparedMessage, PeerConnection } from '@switchyard/codec';
export { prepareMessage, CloseCode } from '@switchyard/codec';
export { WebSocket } from './client/websocket.js';
export type { WebSocketClientOptions } from './client/websocket.js';
export { CloseEvent, ErrorEvent } from '@switchyard/adapter-kit';
export type { BaseEventInit, CloseEventInit, ErrorEventInit, WebSocketEventMap } from '@switchyard/adapter-kit';
