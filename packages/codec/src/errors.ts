import type { ProtocolViolation, ProtocolViolationKind } from './types.js';

/**
 * The base of every error the codec throws. Errors are thrown only for API misuse (the
 * caller's mistake); the peer's mistakes become close events, never exceptions.
 */
export class SwitchyardError extends Error {
  /** A stable, machine-readable identifier such as `ERR_CONNECTION_CLOSED`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A message, ping, pong or prepared frame was sent after this end sent or received a close frame. */
export class ConnectionClosedError extends SwitchyardError {
  constructor(message = 'the connection is closing or closed: nothing more can be sent') {
    super('ERR_CONNECTION_CLOSED', message);
  }
}

/** A close code that may not be sent (RFC 6455 §7.4) or a reason longer than 123 bytes of UTF-8. */
export class InvalidCloseError extends SwitchyardError {
  constructor(message: string) {
    super('ERR_INVALID_CLOSE', message);
  }
}

/** An argument outside what the protocol can carry, e.g. a ping payload over 125 bytes. */
export class InvalidArgumentError extends SwitchyardError {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}

const closeCodeOf: Record<ProtocolViolationKind, number> = {
  'reserved-bits': 1002,
  'reserved-opcode': 1002,
  'unmasked-client-frame': 1002,
  'masked-server-frame': 1002,
  'fragmented-control-frame': 1002,
  'control-frame-too-long': 1002,
  'non-minimal-length': 1002,
  'length-msb-set': 1002,
  'unexpected-continuation': 1002,
  'expected-continuation': 1002,
  'invalid-utf8': 1007,
  'invalid-close-payload': 1002,
  'invalid-close-code': 1002,
  'message-too-big': 1009,
  'too-many-fragments': 1009,
  'compressed-control-frame': 1002,
  'compressed-continuation': 1002,
  // RFC 7692 §8: data that does not inflate is "invalid payload data", like bad UTF-8.
  'inflate-failed': 1007,
};

const defaultMessage: Record<ProtocolViolationKind, string> = {
  'reserved-bits': 'reserved bits set without an extension that defines them',
  'reserved-opcode': 'reserved opcode',
  'unmasked-client-frame': 'client frame is not masked',
  'masked-server-frame': 'server frame is masked',
  'fragmented-control-frame': 'control frame is fragmented',
  'control-frame-too-long': 'control frame payload exceeds 125 bytes',
  'non-minimal-length': 'payload length is not minimally encoded',
  'length-msb-set': '64-bit payload length has its most significant bit set',
  'unexpected-continuation': 'continuation frame without a message to continue',
  'expected-continuation': 'new data frame while a fragmented message is in progress',
  'invalid-utf8': 'invalid UTF-8 in text',
  'invalid-close-payload': 'close payload of 1 byte',
  'invalid-close-code': 'close code not allowed on the wire',
  'message-too-big': 'message exceeds the size limit',
  'too-many-fragments': 'message exceeds the fragment limit',
  'compressed-control-frame': 'control frame has RSV1 set',
  'compressed-continuation': 'continuation frame has RSV1 set',
  'inflate-failed': 'compressed data does not inflate',
};

/** Builds the diagnostic record of a peer's protocol violation, with the close code it calls for. */
export function protocolViolation(kind: ProtocolViolationKind, message?: string): ProtocolViolation {
  return { kind, closeCode: closeCodeOf[kind], message: message ?? defaultMessage[kind] };
}
