/**
 * Normalisation of what applications pass to `send`: strings stay strings (the codec encodes
 * them), everything binary becomes a Uint8Array view over the same memory, never a copy.
 */
export type SendData = string | ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

export function toBytes(data: Exclude<SendData, string>): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** The byte length a send adds to the buffered amount (UTF-8 length for text). */
export function byteLengthOf(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
}

/** Zero-copy Buffer view, for applications that asked for Buffers. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
