/** What applications may pass to `send`: text, or binary in any of its usual shapes. */
export type SendData = string | ArrayBuffer | SharedArrayBuffer | ArrayBufferView;

/** A received message: text as a string, binary as a Uint8Array. */
export type Message = string | Uint8Array;

/** A view over the same memory as `data`, never a copy. */
export function toBytes(data: Exclude<SendData, string>): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
