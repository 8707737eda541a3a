/** What every entry point exports besides its runtime's server and client classes. */
export { BaseWebSocketServer } from './server.js';
export type {
  AuthAccept,
  AuthReject,
  AuthRejectClose,
  AuthRejectHttp,
  AuthResult,
  FetchHandler,
  HeadersInit,
  ServerDeflateOptions,
  TlsServerOptions,
  WebSocketServerEvents,
  WebSocketServerOptions,
} from './server.js';
export { BaseWebSocket, CONNECTING, OPEN, CLOSING, CLOSED } from './client.js';
export type { BinaryType, ClientDeflateOptions, ClientOptions, ClientTlsOptions, ReadyState } from './client.js';
export { CloseEvent, ErrorEvent } from '@switchyard/adapter-kit';
export type { CloseEventInit, ErrorEventInit, WebSocketEventMap } from '@switchyard/adapter-kit';
export { WebSocketConnection, DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_PAYLOAD, defaultMaxFragments } from '@switchyard/adapter-kit';
export type {
  ConnectionOptions,
  HighWaterPolicy,
  MessageHandler,
  MessageSendOptions,
  WebSocketConnectionEvents,
} from '@switchyard/adapter-kit';
export { AcceptError, WebSocketProtocolError, SendError, HeartbeatTimeoutError, WriteStallError, HandshakeError } from '@switchyard/adapter-kit';
export type { CompressionOptions, Message, RateLimitOptions, SendData, ZlibTuning } from '@switchyard/adapter-kit';
export type { RequestInfo } from './http.js';
export { CloseCode, prepareMessage } from '@switchyard/codec';
export type { PeerConnection, PreparedMessage, SendResult } from '@switchyard/codec';
