export { createClient } from './client.js';
export { defineProtocol } from './protocol.js';
export type {
  ClientMessages,
  ClientMessageType,
  Protocol,
  ProtocolShape,
  ProtocolValidators,
  ReplyData,
  RequestPayload,
  Requests,
  RequestType,
  ServerMessages,
  ServerMessageType,
} from './protocol.js';
export { RequestError, type RequestErrorCode } from './errors.js';
export { jsonSerializer, type Serializer } from './serializer.js';
export type { SchemaIssue, StandardResult, StandardSchemaV1, Validator } from './validate.js';
export type {
  Client,
  StreamPosition,
  ClientEvents,
  ClientOptions,
  ClientState,
  DropEvent,
  DropReason,
  InvalidEvent,
  MessageMeta,
  OnlineEventTarget,
  RequestOptions,
  SendResult,
  StateChange,
  StateReason,
  UrlSource,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
