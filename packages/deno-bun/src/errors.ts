import type { ProtocolViolation } from '@switchyard/codec';

/** The peer broke RFC 6455/7692; the connection was closed with `violation.closeCode`. */
export class WebSocketProtocolError extends Error {
  readonly code = 'ERR_WEBSOCKET_PROTOCOL';
  readonly violation: ProtocolViolation;
  constructor(violation: ProtocolViolation) {
    super(`${violation.kind}: ${violation.message}`);
    this.name = 'WebSocketProtocolError';
    this.violation = violation;
  }
}

/** `sendAsync`/`flush` could not deliver: the connection closed or the high-water policy refused. */
export class SendError extends Error {
  readonly code = 'ERR_WEBSOCKET_SEND';
  readonly reason: 'closed' | 'high-water-mark';
  constructor(message: string, reason: 'closed' | 'high-water-mark') {
    super(message);
    this.name = 'SendError';
    this.reason = reason;
  }
}
