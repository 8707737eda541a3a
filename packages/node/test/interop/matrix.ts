import { patternBytes } from '../helpers.js';

const MiB = 1024 * 1024;

/** Every length encoding boundary (7-bit, 16-bit, 64-bit) up to 16 MiB. */
export const BINARY_SIZES = [0, 1, 125, 126, 65535, 65536, MiB, 16 * MiB] as const;
export const TEXT_SIZES = [0, 1, 125, 126, 65536, MiB] as const;
/** Room for the 16 MiB case. */
export const MAX_PAYLOAD = 17 * MiB;

/** Text of `size` UTF-8 bytes mixing 1-, 2-, 3- and 4-byte characters. */
export function patternText(size: number): string {
  const unit = 'aé€😀'; // 1 + 2 + 3 + 4 = 10 bytes
  let text = unit.repeat(Math.floor(size / 10));
  text += 'x'.repeat(size - Buffer.byteLength(text));
  return text;
}

export function sameBytes(a: Uint8Array | ArrayBuffer, b: Uint8Array): boolean {
  const left = a instanceof Uint8Array ? a : new Uint8Array(a);
  return Buffer.compare(Buffer.from(left.buffer, left.byteOffset, left.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

export { patternBytes };
