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

/** The opening handshake of a client connection failed (refused, wrong answer, timeout, redirect). */
export class HandshakeError extends Error {
  readonly code = 'ERR_WEBSOCKET_HANDSHAKE';
  /** The HTTP status the server answered, when it answered. */
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'HandshakeError';
    this.status = status;
  }
}

/** The peer took none of our bytes for `writeStallTimeout` while output waited: the socket was destroyed (close 1006). */
export class WriteStallError extends Error {
  readonly code = 'ERR_WEBSOCKET_WRITE_STALL';
  constructor(timeout: number, pending: number) {
    super(`write stall: the peer took none of ${pending} waiting bytes within ${timeout} ms`);
    this.name = 'WriteStallError';
  }
}

/** The peer did not answer a heartbeat ping within `heartbeatTimeout`: the socket was destroyed (close 1006). */
export class HeartbeatTimeoutError extends Error {
  readonly code = 'ERR_WEBSOCKET_HEARTBEAT_TIMEOUT';
  constructor(timeout: number) {
    super(`heartbeat timeout: no answer from the peer within ${timeout} ms`);
    this.name = 'HeartbeatTimeoutError';
  }
}

/**
 * The listening socket could not accept a connection. `fatal: false`: resource exhaustion
 * (`EMFILE`, `ENFILE`, …) — the server backs off, keeps accepting once descriptors are free, and
 * reports it once per burst. `fatal: true`: the listener is gone and nothing will be accepted
 * again; a server without an `error` listener then throws it, so the process exits non-zero.
 */
export class AcceptError extends Error {
  readonly code = 'ERR_WEBSOCKET_ACCEPT';
  readonly fatal: boolean;
  constructor(cause: unknown, fatal: boolean) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(fatal ? `the listener stopped accepting connections: ${reason}` : `cannot accept connections for now (retrying): ${reason}`, { cause });
    this.name = 'AcceptError';
    this.fatal = fatal;
  }
}
