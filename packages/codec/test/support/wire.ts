/**
 * Test-side wire helpers, written independently of the codec's encoder so that tests compare
 * the codec against a second reading of RFC 6455 §5.2 rather than against itself.
 */
import { Connection, type ConnectionEvent, type ConnectionOptions } from '@switchyard/codec';

export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits `bytes` at the given points (taken modulo its length + 1) into copies (`receive` may unmask in place), dropping empty pieces. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const end of [...points, bytes.length]) {
    if (end > start) out.push(bytes.slice(start, end));
    start = end;
  }
  return out;
}

export interface WireFrame {
  fin?: boolean;
  rsv?: number; // bit 0 = RSV3, bit 1 = RSV2, bit 2 = RSV1
  opcode: number;
  payload?: Uint8Array | string;
  /** A 4-byte key masks the payload; undefined sends it unmasked. */
  mask?: Uint8Array;
  /** Force a length encoding (for non-minimal fixtures). */
  lengthForm?: 7 | 16 | 64;
}

const utf8 = new TextEncoder();

export function frame(spec: WireFrame): Uint8Array {
  const payload = typeof spec.payload === 'string' ? utf8.encode(spec.payload) : (spec.payload ?? new Uint8Array(0));
  const n = payload.length;
  const form = spec.lengthForm ?? (n < 126 ? 7 : n < 65536 ? 16 : 64);
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode];
  const maskBit = spec.mask ? 0x80 : 0;
  if (form === 7) head.push(maskBit | n);
  else if (form === 16) head.push(maskBit | 126, n >> 8, n & 0xff);
  else {
    head.push(maskBit | 127);
    const high = Math.floor(n / 2 ** 32);
    for (const v of [high, n >>> 0]) head.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  const body = payload.slice();
  if (spec.mask) {
    head.push(...spec.mask);
    for (let i = 0; i < n; i++) body[i]! ^= spec.mask[i % 4]!;
  }
  return concat([new Uint8Array(head), body]);
}

/** A masked client frame (key 37 fa 21 3d, the one of RFC 6455 §5.7). */
export const KEY = hex('37 fa 21 3d');
export const clientFrame = (spec: Omit<WireFrame, 'mask'>): Uint8Array => frame({ ...spec, mask: KEY });

export interface ParsedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}

/** Parses complete frames out of bytes (throws on a truncated stream: the codec must emit whole frames). */
export function parseFrames(bytes: Uint8Array): ParsedFrame[] {
  const frames: ParsedFrame[] = [];
  let p = 0;
  while (p < bytes.length) {
    const b0 = bytes[p]!;
    const b1 = bytes[p + 1]!;
    let n = b1 & 0x7f;
    p += 2;
    if (n === 126) {
      n = (bytes[p]! << 8) | bytes[p + 1]!;
      p += 2;
    } else if (n === 127) {
      n = 0;
      for (let i = 0; i < 8; i++) n = n * 256 + bytes[p + i]!;
      p += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? bytes.slice(p, p + 4) : undefined;
    if (masked) p += 4;
    if (p + n > bytes.length) throw new Error('truncated frame in output');
    const payload = bytes.slice(p, p + n);
    if (key) for (let i = 0; i < n; i++) payload[i]! ^= key[i % 4]!;
    p += n;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
  }
  return frames;
}

/** Output of a connection as frames. */
export const outputFrames = (connection: Connection): ParsedFrame[] => parseFrames(concat(connection.takeOutput()));

/** The code of a close frame payload (undefined when empty). */
export const closeCodeOf = (payload: Uint8Array): number | undefined =>
  payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : undefined;

export function server(options: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({ role: 'server', ...options });
}

export function client(options: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({ role: 'client', randomBytes: (t) => t.fill(0).forEach((_, i) => (t[i] = KEY[i % 4]!)), ...options });
}

/** Feeds bytes split at the given chunk sizes (the rest in one last chunk). */
export function feed(connection: Connection, bytes: Uint8Array, sizes: readonly number[] = []): ConnectionEvent[] {
  let p = 0;
  for (const size of sizes) {
    if (p >= bytes.length) break;
    connection.receive(bytes.slice(p, p + size));
    p += size;
  }
  if (p < bytes.length) connection.receive(bytes.slice(p));
  return connection.takeEvents();
}
