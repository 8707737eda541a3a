import { InvalidCloseError, protocolViolation } from './errors.js';
import type { ProtocolViolation } from './types.js';
import { isValidUtf8 } from './utf8.js';

/** Close status codes (RFC 6455 §7.4.1 and the IANA registry). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatusReceived: 1005,
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
} as const;

/** The longest close reason: a control payload holds 125 bytes, two of which are the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Whether `code` may appear in a close frame: 1000–1003 and 1007–1014 (defined by RFC 6455 and
 * registered with IANA), 3000–4999 (libraries and applications). 1004 is reserved; 1005, 1006
 * and 1015 only ever describe a close locally.
 */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

const encoder = new TextEncoder();
const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The payload of a close frame. Without a code the payload is empty (and a reason is refused,
 * since a reason needs a code before it).
 */
export function encodeClosePayload(code?: number, reason = ''): Uint8Array {
  if (code === undefined) {
    if (reason !== '') throw new InvalidCloseError('a close reason needs a close code');
    return new Uint8Array(0);
  }
  if (!isValidCloseCode(code)) throw new InvalidCloseError(`close code ${code} may not be sent`);
  const text = encoder.encode(reason);
  if (text.length > MAX_CLOSE_REASON_BYTES) {
    throw new InvalidCloseError(`close reason is ${text.length} bytes of UTF-8; at most ${MAX_CLOSE_REASON_BYTES} fit`);
  }
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return payload;
}

export type DecodedClosePayload =
  | { readonly ok: true; readonly code: number; readonly reason: string }
  | { readonly ok: false; readonly violation: ProtocolViolation };

/** Reads a received close payload; an empty payload means 1005 (no status received). */
export function decodeClosePayload(payload: Uint8Array): DecodedClosePayload {
  if (payload.length === 0) return { ok: true, code: CloseCode.NoStatusReceived, reason: '' };
  if (payload.length === 1) return { ok: false, violation: protocolViolation('invalid-close-payload') };
  if (payload.length > 125) {
    return { ok: false, violation: protocolViolation('control-frame-too-long') };
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) {
    return { ok: false, violation: protocolViolation('invalid-close-code', `close code ${code} is not allowed on the wire`) };
  }
  const reasonBytes = payload.subarray(2);
  if (!isValidUtf8(reasonBytes)) {
    return { ok: false, violation: protocolViolation('invalid-utf8', 'close reason is not valid UTF-8') };
  }
  return { ok: true, code, reason: reasonBytes.length === 0 ? '' : fatalDecoder.decode(reasonBytes) };
}
