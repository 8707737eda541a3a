/** The `Sec-WebSocket-Key` / `Sec-WebSocket-Accept` pair of the opening handshake (RFC 6455 §4). */

import { decodeBase64, encodeBase64 } from './base64.js';
import { sha1 } from './sha1.js';

/** The GUID of RFC 6455 §1.3, appended to the key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Fills `target` with random bytes. */
export type RandomBytes = (target: Uint8Array) => void;

const defaultRandomBytes: RandomBytes = (target) => {
  crypto.getRandomValues(target);
};

/** A fresh client nonce: 16 random bytes, base64-encoded (RFC 6455 §4.1). */
export function generateKey(randomBytes: RandomBytes = defaultRandomBytes): string {
  const nonce = new Uint8Array(16);
  randomBytes(nonce);
  return encodeBase64(nonce);
}

const textEncoder = new TextEncoder();

/** base64(SHA-1(key + GUID)): the value the server proves it read the key with (RFC 6455 §4.2.2). */
export function computeAccept(key: string): string {
  return encodeBase64(sha1(textEncoder.encode(key + WEBSOCKET_GUID)));
}

/**
 * Whether `key` is a valid `Sec-WebSocket-Key`: base64 that decodes to exactly 16 bytes, which
 * is always 22 alphabet characters followed by `==`.
 */
export function isValidKey(key: string): boolean {
  return key.length === 24 && decodeBase64(key)?.length === 16;
}
