/**
 * Normalisation of what applications pass to `send`: strings stay strings (the codec encodes
 * them), everything binary becomes a Uint8Array view over the same memory, never a copy.
 */
export type SendData = string | ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

/** A received message: text as a string, binary as a Uint8Array. */
export type Message = string | Uint8Array;

/** A view over the same memory as `data`, never a copy. */
export function toBytes(data: Exclude<SendData, string>): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/**
 * One buffer holding `chunks` in order (`total` is their summed length); a single chunk is
 * returned as it is. For the places that must hand on one contiguous message or write: zlib
 * output, and sockets without writev (Deno, Bun).
 */
export function concatChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * The UTF-8 length of `text` (lone surrogates count 3, as the encoder replaces them with
 * U+FFFD), so that limits on strings count bytes on the wire in every runtime.
 */
export function utf8ByteLength(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: 2 units, 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}
