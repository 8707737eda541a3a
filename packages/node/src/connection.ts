/**
 * The server's and client's connection: the shared core's `WebSocketConnection`, on a Node
 * socket through `NodeSocketTransport`. Nothing of its behaviour is written here.
 */
export { WebSocketConnection } from '@switchyard/adapter-kit';
export type { Message, MessageHandler, MessageSendOptions, WebSocketConnectionEvents } from '@switchyard/adapter-kit';

/** Information about the connection fixed at the handshake. */
export interface ConnectionInfo {
  readonly protocol: string;
  readonly extensions: string;
  readonly url: string;
}
