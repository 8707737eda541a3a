import type { ProtocolViolation } from '@switchyard/codec';

/** The peer broke RFC 6455/7692; the connection was closed with `violation.closeCode`. */
export class WebSocketProtocolError extends Error {
  readonly code = 'ERR_WEBSOCKET_PROTOCOL';
  constructor(readonly violation: ProtocolViolation) {
    super(`${violation.kind}: ${violation.message}`);
    this.name = 'WebSocketProtocolError';
  }
}

/** The opening handshake of a client connection failed (refused, wrong answer, timeout, redirect). */
export class HandshakeError extends Error {
  readonly code = 'ERR_WEBSOCKET_HANDSHAKE';
  constructor(
    message: string,
    /** The HTTP status the server answered, when it answered. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'HandshakeError';
  }
}

/** `sendAsync`/`flush` could not deliver: the connection closed or the high-water policy refused. */
export class SendError extends Error {
  readonly code = 'ERR_WEBSOCKET_SEND';
  constructor(
    message: string,
    readonly reason: 'closed' | 'high-water-mark',
  ) {
    super(message);
    this.name = 'SendError';
  }
}
