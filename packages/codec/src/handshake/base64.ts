/**
 * Base64 (RFC 4648 §4, the standard alphabet with `=` padding) over `Uint8Array`. `btoa`/`atob`
 * work on binary strings, which would need a conversion step in both directions; these work on
 * bytes directly and the decoder is strict, which is what key validation needs.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Maps a character code to its 6-bit value, or -1 when it is not in the alphabet. */
const DECODE_TABLE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Encodes bytes as padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const remaining = bytes.length - i;
  if (remaining === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + '==';
  } else if (remaining === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >>> 18]! + ALPHABET[(n >>> 12) & 63]! + ALPHABET[(n >>> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Decodes padded base64. Returns `undefined` for anything that is not exactly that: a length
 * that is not a multiple of 4, characters outside the alphabet, padding anywhere but the end,
 * or whitespace. Non-zero bits in the last character before the padding are tolerated, as
 * most encoders' decoders do.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let written = 0;
  for (let i = 0; i < text.length; i += 4) {
    const isLastGroup = i + 4 === text.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const code = text.charCodeAt(i + j);
      if (code === 0x3d /* = */ && isLastGroup && j >= 4 - padding) {
        n <<= 6;
        continue;
      }
      const value = code < 128 ? DECODE_TABLE[code]! : -1;
      if (value < 0) return undefined;
      n = (n << 6) | value;
    }
    out[written++] = n >>> 16;
    if (written < out.length) out[written++] = (n >>> 8) & 0xff;
    if (written < out.length) out[written++] = n & 0xff;
  }
  return out;
}
