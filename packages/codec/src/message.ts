import { protocolViolation } from './errors.js';
import { allocateZeroed } from './frame.js';
import type { ProtocolViolation } from './types.js';

/**
 * Messages on top of frames (RFC 6455 §5.4): splitting an outgoing message into fragments and
 * gathering an incoming one, with the limits that keep a peer from holding unbounded memory.
 */

/**
 * The payload slices of a message sent in fragments of at most `fragmentSize` bytes. An empty
 * message is one empty frame. The slices are views: nothing is copied.
 */
export function fragmentPayload(payload: Uint8Array, fragmentSize: number): Uint8Array[] {
  if (fragmentSize <= 0 || payload.length <= fragmentSize) return [payload];
  const slices: Uint8Array[] = [];
  for (let start = 0; start < payload.length; start += fragmentSize) {
    slices.push(payload.subarray(start, Math.min(start + fragmentSize, payload.length)));
  }
  return slices;
}

export interface MessageLimits {
  /** Total payload bytes of one message (0: no limit). */
  readonly maxMessageSize: number;
  /** Frames of one message (0: no limit). */
  readonly maxFragments: number;
}

/** Joins chunks into one buffer from `allocate` (or returns the only one as is). */
export function concatBytes(parts: readonly Uint8Array[], totalLength: number, allocate: (size: number) => Uint8Array = allocateZeroed): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = allocate(totalLength);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Gathers the fragments of one incoming message. Control frames interleaved between fragments
 * are handled by the caller and never reach the assembler.
 */
export class MessageAssembler {
  /** Opcode of the message in progress (1 text, 2 binary), 0 when none. */
  opcode = 0;
  /** The first frame had RSV1 set (permessage-deflate). */
  compressed = false;
  /** Payload bytes gathered so far. */
  size = 0;
  /** The fragments so far; an array exists only while a message is in progress. */
  private parts: Uint8Array[] | undefined;
  private readonly maxMessageSize: number;
  private readonly maxFragments: number;

  constructor(limits: MessageLimits) {
    this.maxMessageSize = limits.maxMessageSize;
    this.maxFragments = limits.maxFragments;
  }

  get inProgress(): boolean {
    return this.opcode !== 0;
  }

  /** Payload bytes the next fragment may still carry (for the frame decoder's limit). */
  get remaining(): number {
    const max = this.maxMessageSize;
    return max === 0 ? Number.MAX_SAFE_INTEGER : max - this.size;
  }

  /** Starts a message with its first (non-final) frame. */
  start(opcode: number, compressed: boolean, payload: Uint8Array): ProtocolViolation | undefined {
    this.opcode = opcode;
    this.compressed = compressed;
    this.size = 0;
    this.parts = [];
    return this.add(payload);
  }

  /** Adds a fragment; a violation when the message grows beyond a limit. */
  add(payload: Uint8Array): ProtocolViolation | undefined {
    const { maxMessageSize, maxFragments } = this;
    const parts = (this.parts ??= []);
    if (maxFragments !== 0 && parts.length >= maxFragments) {
      return protocolViolation('too-many-fragments', `message exceeds ${maxFragments} fragments`);
    }
    this.size += payload.length;
    if (maxMessageSize !== 0 && this.size > maxMessageSize) {
      return protocolViolation('message-too-big', `message exceeds ${maxMessageSize} bytes`);
    }
    // Empty fragments add nothing but must still count against the fragment limit.
    parts.push(payload);
    return undefined;
  }

  /** Ends the message: its fragments, in order. Resets the assembler. */
  finish(): Uint8Array[] {
    const parts = this.parts ?? [];
    this.parts = undefined;
    this.opcode = 0;
    this.compressed = false;
    this.size = 0;
    return parts;
  }
}
