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
