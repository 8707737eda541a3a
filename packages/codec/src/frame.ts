import { InvalidArgumentError, protocolViolation } from './errors.js';
import { applyMask, copyMasked } from './mask.js';
import type { ProtocolViolation } from './types.js';

/** Frame opcodes (RFC 6455 §5.2); 3–7 and 0xB–0xF are reserved. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** Control frames (opcode ≥ 8) carry at most this many payload bytes (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** The largest payload length a frame header can state and a 53-bit number can hold exactly. */
const MAX_SAFE_PAYLOAD = Number.MAX_SAFE_INTEGER;

export interface FrameHeaderFields {
  readonly opcode: number;
  readonly fin: boolean;
  readonly rsv1?: boolean;
  readonly payloadLength: number;
  /** The 4-byte masking key; written into the header, it is not applied to anything here. */
  readonly maskKey?: Uint8Array | undefined;
}

/** Bytes of a header for this payload length: 2, plus 2 or 8 for the length, plus 4 when masked. */
export function frameHeaderLength(payloadLength: number, masked: boolean): number {
  const lengthBytes = payloadLength < 126 ? 0 : payloadLength < 0x10000 ? 2 : 8;
  return 2 + lengthBytes + (masked ? 4 : 0);
}

/**
 * Writes a frame header at `target[at..]` with the minimal length encoding (RFC 6455 §5.2);
 * returns the header's length. The payload is not touched: callers keep it separate (writev)
 * or write it right after.
 */
export function writeFrameHeader(target: Uint8Array, at: number, fields: FrameHeaderFields): number {
  const { maskKey } = fields;
  const length = writeHeaderBytes(target, at, fields.opcode, fields.fin, fields.rsv1 === true, fields.payloadLength, maskKey !== undefined);
  if (maskKey !== undefined) {
    const p = at + length - 4;
    target[p] = maskKey[0]!;
    target[p + 1] = maskKey[1]!;
    target[p + 2] = maskKey[2]!;
    target[p + 3] = maskKey[3]!;
  }
  return length;
}

/**
 * The header without its mask key: the first byte, the length, and room for the key when
 * `masked` (the caller writes the key into the last 4 bytes). Returns the header's length.
 */
export function writeHeaderBytes(target: Uint8Array, at: number, opcode: number, fin: boolean, rsv1: boolean, payloadLength: number, masked: boolean): number {
  target[at] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = masked ? 0x80 : 0;
  let p = at + 2;
  if (payloadLength < 126) {
    target[at + 1] = maskBit | payloadLength;
  } else if (payloadLength < 0x10000) {
    target[at + 1] = maskBit | 126;
    target[p++] = payloadLength >>> 8;
    target[p++] = payloadLength & 0xff;
  } else {
    target[at + 1] = maskBit | 127;
    const high = Math.floor(payloadLength / 0x100000000);
    const low = payloadLength >>> 0;
    target[p++] = high >>> 24;
    target[p++] = (high >>> 16) & 0xff;
    target[p++] = (high >>> 8) & 0xff;
    target[p++] = high & 0xff;
    target[p++] = low >>> 24;
    target[p++] = (low >>> 16) & 0xff;
    target[p++] = (low >>> 8) & 0xff;
    target[p++] = low & 0xff;
  }
  return p - at + (masked ? 4 : 0);
}

/** A frame header in a buffer of its own (2 to 14 bytes). */
export function encodeFrameHeader(fields: FrameHeaderFields): Uint8Array {
  const header = new Uint8Array(frameHeaderLength(fields.payloadLength, fields.maskKey !== undefined));
  writeFrameHeader(header, 0, fields);
  return header;
}

/**
 * A whole frame in one buffer: header, then the payload — masked with `maskKey` when given
 * (the caller's payload is copied, never modified).
 */
export function encodeFrame(fields: Omit<FrameHeaderFields, 'payloadLength'>, payload: Uint8Array): Uint8Array {
  const headerLength = frameHeaderLength(payload.length, fields.maskKey !== undefined);
  const frame = new Uint8Array(headerLength + payload.length);
  writeFrameHeader(frame, 0, { ...fields, payloadLength: payload.length });
  frame.set(payload, headerLength);
  if (fields.maskKey !== undefined) applyMask(frame.subarray(headerLength), fields.maskKey);
  return frame;
}

export interface FrameDecoderOptions {
  /** True on the server: client frames must be masked; false on the client: server frames must not be. */
  readonly expectMasked: boolean;
  /** RSV1 is legal (permessage-deflate negotiated). */
  readonly allowRsv1?: boolean;
  /** The largest data-frame payload accepted; larger lengths fail with 1009 before any allocation. */
  readonly maxPayload?: number;
  /**
   * Allocates the buffer a payload split across chunks is gathered into. It must return
   * `size` bytes that nothing else uses; their contents are overwritten completely before the
   * payload is handed out, so they need not be zeroed. Default: `new Uint8Array(size)`.
   */
  readonly allocate?: (size: number) => Uint8Array;
}

/** `next()` results. */
export const DecodeStatus = {
  /** Every byte pushed so far is consumed; push the next chunk. */
  NeedMore: 0,
  /** A complete frame is in `fin`, `rsv1`, `opcode` and `payload`. */
  Frame: 1,
  /** The peer broke the protocol: see `violation`. The decoder stays failed. */
  Failed: 2,
} as const;
export type DecodeStatus = (typeof DecodeStatus)[keyof typeof DecodeStatus];

const EMPTY = new Uint8Array(0);
const HEADER_MAX = 14;

/** The default allocator: zero-filled, as standard JavaScript has no other. */
export function allocateZeroed(size: number): Uint8Array {
  return new Uint8Array(size);
}

/**
 * The mask key as bytes for the masking kernels. Decoders keep their key as one number (no
 * buffer per connection) and write it here right before each synchronous use.
 */
const keyBytes = new Uint8Array(4);

function maskKeyBytes(key: number): Uint8Array {
  keyBytes[0] = key >>> 24;
  keyBytes[1] = (key >>> 16) & 0xff;
  keyBytes[2] = (key >>> 8) & 0xff;
  keyBytes[3] = key & 0xff;
  return keyBytes;
}

/**
 * A streaming frame decoder over any chunking. Feed one chunk with `push`, then call `next`
 * until it returns `NeedMore`. A frame whose payload lies inside one chunk is returned as a view
 * of that chunk (unmasked in place: `push` takes ownership of the chunk); a frame split across
 * chunks is gathered into one buffer allocated once its length has been checked.
 *
 * The decoder checks what a single frame can break (RFC 6455 §5.2–5.5): reserved bits and
 * opcodes, masking per role, control frame rules, length encodings and the size limit. Rules
 * that span frames (continuations) belong to the message layer.
 */
export class FrameDecoder {
  expectMasked: boolean;
  allowRsv1: boolean;
  maxPayload: number;

  /** The last decoded frame (valid after `next()` returned `Frame`, until the next call to `next()`). */
  fin = false;
  rsv1 = false;
  opcode = 0;
  payload: Uint8Array = EMPTY;
  violation: ProtocolViolation | undefined;
  /**
   * Payload bytes of the message before the frame being read: with the frame's own length, the
   * size a 1009 close reason names (a message's size so far, not a fragment's).
   */
  messageBytes = 0;

  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  /** Header bytes that straddle chunks; allocated the first time a header does. */
  private header: Uint8Array = EMPTY;
  private headerHave = 0;
  /** A payload being gathered across chunks. */
  private partial: Uint8Array | undefined;
  private partialHave = 0;
  private masked = false;
  /** Declared payload length of the header just read. */
  private length = 0;
  /** The 4 mask-key bytes of the header just read, big-endian in one number. */
  private maskKey = 0;
  private failed = false;
  private readonly allocate: (size: number) => Uint8Array;

  constructor(options: FrameDecoderOptions) {
    this.expectMasked = options.expectMasked;
    this.allowRsv1 = options.allowRsv1 ?? false;
    this.maxPayload = options.maxPayload ?? MAX_SAFE_PAYLOAD;
    this.allocate = options.allocate ?? allocateZeroed;
  }

  /** Hands the next chunk to the decoder; the previous one must be consumed (`next()` returned `NeedMore`). */
  push(chunk: Uint8Array): void {
    this.chunk = chunk;
    this.pos = 0;
  }

  /**
   * While a payload is gathered across chunks: its buffer, of which the first `gatheredBytes`
   * have arrived (unmasked already), so that a caller can check them before the frame is whole.
   * The fields `fin`, `rsv1` and `opcode` are that frame's. Undefined otherwise.
   */
  get gatheredPayload(): Uint8Array | undefined {
    return this.partial;
  }

  get gatheredBytes(): number {
    return this.partialHave;
  }

  /** Bytes of the current chunk not decoded yet. */
  get pendingBytes(): number {
    return this.chunk.length - this.pos;
  }

  next(): DecodeStatus {
    // The previous frame was handled: keep no view of it, so an idle decoder holds no buffer.
    this.payload = EMPTY;
    const status = this.decode();
    if (status === DecodeStatus.NeedMore) {
      this.chunk = EMPTY;
      this.pos = 0;
    }
    return status;
  }

  private decode(): DecodeStatus {
    if (this.failed) return DecodeStatus.Failed;
    if (this.partial !== undefined) return this.continuePayload();
    const chunk = this.chunk;
    let p = this.pos;
    const available = chunk.length - p;
    if (this.headerHave === 0 && available >= 2) {
      // Fast path: the header starts in this chunk.
      const b1 = chunk[p + 1]!;
      const len7 = b1 & 0x7f;
      const headerLength = 2 + (len7 < 126 ? 0 : len7 === 126 ? 2 : 8) + (b1 & 0x80 ? 4 : 0);
      if (available >= headerLength) {
        if (!this.readHeader(chunk, p)) return DecodeStatus.Failed;
        p += headerLength;
        return this.startPayload(chunk, p, this.length);
      }
      if (!this.checkFirstBytes(chunk[p]!, b1)) return DecodeStatus.Failed;
    }
    return this.gatherHeader();
  }

  /** Copies header bytes that straddle chunks into `header`, then decodes it from there. */
  private gatherHeader(): DecodeStatus {
    const chunk = this.chunk;
    if (this.pos === chunk.length) return DecodeStatus.NeedMore;
    if (this.header === EMPTY) this.header = new Uint8Array(HEADER_MAX);
    const header = this.header;
    while (this.pos < chunk.length) {
      const need = this.headerHave < 2 ? 2 : this.headerLengthFromFirstBytes();
      if (this.headerHave === need) break;
      const take = Math.min(need - this.headerHave, chunk.length - this.pos);
      header.set(chunk.subarray(this.pos, this.pos + take), this.headerHave);
      this.headerHave += take;
      this.pos += take;
      if (this.headerHave === 2 && !this.checkFirstBytes(header[0]!, header[1]!)) return DecodeStatus.Failed;
    }
    if (this.headerHave < 2 || this.headerHave < this.headerLengthFromFirstBytes()) return DecodeStatus.NeedMore;
    this.headerHave = 0;
    if (!this.readHeader(header, 0)) return DecodeStatus.Failed;
    return this.startPayload(chunk, this.pos, this.length);
  }

  private headerLengthFromFirstBytes(): number {
    const b1 = this.header[1]!;
    const len7 = b1 & 0x7f;
    return 2 + (len7 < 126 ? 0 : len7 === 126 ? 2 : 8) + (b1 & 0x80 ? 4 : 0);
  }

  /** The checks that need only the first two header bytes, so a bad frame fails before its length arrives. */
  private checkFirstBytes(b0: number, b1: number): boolean {
    const opcode = b0 & 0x0f;
    if ((b0 & 0x30) !== 0 || ((b0 & 0x40) !== 0 && !this.allowRsv1)) return this.fail('reserved-bits');
    if ((opcode > 2 && opcode < 8) || opcode > 10) return this.fail('reserved-opcode', `reserved opcode 0x${opcode.toString(16)}`);
    if (opcode >= 8) {
      if ((b0 & 0x80) === 0) return this.fail('fragmented-control-frame');
      if ((b1 & 0x7f) > MAX_CONTROL_PAYLOAD) return this.fail('control-frame-too-long');
      if ((b0 & 0x40) !== 0) return this.fail('compressed-control-frame');
    } else if (opcode === 0 && (b0 & 0x40) !== 0) {
      return this.fail('compressed-continuation');
    }
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.expectMasked) return this.fail(masked ? 'masked-server-frame' : 'unmasked-client-frame');
    return true;
  }

  /** Decodes a complete header at `bytes[p..]` into the frame fields. */
  private readHeader(bytes: Uint8Array, p: number): boolean {
    const b0 = bytes[p]!;
    const b1 = bytes[p + 1]!;
    if (!this.checkFirstBytes(b0, b1)) return false;
    this.fin = (b0 & 0x80) !== 0;
    this.rsv1 = (b0 & 0x40) !== 0;
    this.opcode = b0 & 0x0f;
    this.masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    p += 2;
    if (length === 126) {
      length = (bytes[p]! << 8) | bytes[p + 1]!;
      p += 2;
      if (length < 126) return this.fail('non-minimal-length');
    } else if (length === 127) {
      const high = ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
      const low = ((bytes[p + 4]! << 24) | (bytes[p + 5]! << 16) | (bytes[p + 6]! << 8) | bytes[p + 7]!) >>> 0;
      p += 8;
      if (high >= 0x80000000) return this.fail('length-msb-set');
      length = high * 0x100000000 + low;
      if (length < 0x10000) return this.fail('non-minimal-length');
    }
    if (length > this.maxPayload && this.opcode < 8) {
      return this.fail('message-too-big', `message of at least ${this.messageBytes + length} bytes exceeds the limit`);
    }
    if (this.masked) {
      this.maskKey = ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
    }
    this.length = length;
    return true;
  }

  private startPayload(chunk: Uint8Array, p: number, length: number): DecodeStatus {
    if (chunk.length - p >= length) {
      const payload = length === 0 ? EMPTY : chunk.subarray(p, p + length);
      this.pos = p + length;
      if (this.masked && length !== 0) applyMask(payload, maskKeyBytes(this.maskKey));
      this.payload = payload;
      return DecodeStatus.Frame;
    }
    let partial: Uint8Array;
    try {
      partial = this.allocate(length);
    } catch {
      // Within the limit but beyond what this runtime can allocate.
      this.fail('message-too-big', `cannot hold a ${length}-byte payload`);
      return DecodeStatus.Failed;
    }
    if (partial.length !== length) {
      throw new InvalidArgumentError(`allocate(${length}) returned ${partial.length} bytes`);
    }
    this.copyPayload(partial, 0, chunk.subarray(p));
    this.partial = partial;
    this.partialHave = chunk.length - p;
    this.pos = chunk.length;
    return DecodeStatus.NeedMore;
  }

  private continuePayload(): DecodeStatus {
    const partial = this.partial!;
    const chunk = this.chunk;
    const want = partial.length - this.partialHave;
    const available = chunk.length - this.pos;
    if (available < want) {
      this.copyPayload(partial, this.partialHave, available === chunk.length ? chunk : chunk.subarray(this.pos));
      this.partialHave += available;
      this.pos = chunk.length;
      return DecodeStatus.NeedMore;
    }
    this.copyPayload(partial, this.partialHave, chunk.subarray(this.pos, this.pos + want));
    this.pos += want;
    this.partial = undefined;
    this.partialHave = 0;
    this.payload = partial;
    return DecodeStatus.Frame;
  }

  /** Gathers a piece of a split payload, unmasking it in the same pass (the key phase is its position). */
  private copyPayload(target: Uint8Array, at: number, piece: Uint8Array): void {
    if (this.masked) copyMasked(target, at, piece, maskKeyBytes(this.maskKey), at);
    else target.set(piece, at);
  }

  private fail(kind: Parameters<typeof protocolViolation>[0], message?: string): false {
    this.failed = true;
    this.violation = protocolViolation(kind, message);
    this.pos = this.chunk.length;
    return false;
  }
}
