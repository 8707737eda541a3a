import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeStatus, FrameDecoder, InvalidArgumentError, type ConnectionEvent } from '@switchyard/codec';
import { KEY, client, concat, frame, parseFrames, server } from './support/wire.js';

const utf8 = new TextEncoder();
/** What the codec's text events hold: a byte-order mark is kept as a character. */
const asDelivered = new TextDecoder('utf-8', { ignoreBOM: true });

/** An allocator that hands out buffers full of 0xAA, as an uninitialised allocation might, and records the sizes asked for. */
function garbageAllocator(): { allocate: (size: number) => Uint8Array; sizes: number[] } {
  const sizes: number[] = [];
  return {
    sizes,
    allocate: (size) => {
      sizes.push(size);
      return new Uint8Array(size).fill(0xaa);
    },
  };
}

const messageArb = fc.record({
  binary: fc.boolean(),
  text: fc.string({ unit: 'binary', maxLength: 400 }),
  bytes: fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 3000 }).map((n) => new Uint8Array(n).map((_, i) => i * 7))),
  /** Fragment sizes, used in turn; none: one frame. */
  fragments: fc.oneof(fc.constant<number[]>([]), fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 4 })),
  ping: fc.option(fc.uint8Array({ maxLength: 125 }), { nil: undefined }),
});
type Message = typeof messageArb extends fc.Arbitrary<infer T> ? T : never;

interface WireFrameInfo {
  readonly bytes: Uint8Array;
  readonly headerLength: number;
  readonly payloadLength: number;
  /** Set on the last frame of a message sent in several: the joined size. */
  readonly joined?: number;
}

/** The masked frames of a message, fragmented as asked, with its ping. */
function messageFrames(message: Message): WireFrameInfo[] {
  const payload = message.binary ? message.bytes : utf8.encode(message.text);
  const slices: Uint8Array[] = [];
  if (message.fragments.length === 0) {
    slices.push(payload);
  } else {
    let at = 0;
    for (let i = 0; at < payload.length || slices.length === 0; i++) {
      // A size of 0 sends an empty fragment; the one after it carries at least a byte, so the loop ends.
      const size = message.fragments[i % message.fragments.length]!;
      const end = Math.min(payload.length, at + (size === 0 && slices.length % 2 === 1 ? 1 : size));
      slices.push(payload.subarray(at, end));
      at = end;
    }
  }
  const frames: WireFrameInfo[] = [];
  const ping = message.ping === undefined ? undefined : frame({ opcode: 9, payload: message.ping, mask: KEY });
  const pingFrame = ping && { bytes: ping, headerLength: ping.length - message.ping!.length, payloadLength: message.ping!.length };
  // The ping goes between the first two fragments, or before a single-frame message: its event comes first either way.
  if (pingFrame && slices.length === 1) frames.push(pingFrame);
  slices.forEach((slice, i) => {
    const last = i === slices.length - 1;
    const bytes = frame({ opcode: i === 0 ? (message.binary ? 2 : 1) : 0, fin: last, payload: slice, mask: KEY });
    frames.push({
      bytes,
      headerLength: bytes.length - slice.length,
      payloadLength: slice.length,
      ...(last && slices.length > 1 ? { joined: payload.length } : {}),
    });
    if (pingFrame && i === 0 && slices.length > 1) frames.push(pingFrame);
  });
  return frames;
}

function expectedEvents(messages: readonly Message[]): ConnectionEvent[] {
  const events: ConnectionEvent[] = [];
  for (const m of messages) {
    if (m.ping !== undefined) events.push({ type: 'ping', data: m.ping });
    if (m.binary) events.push({ type: 'binary', data: m.bytes });
    else events.push({ type: 'text', data: asDelivered.decode(utf8.encode(m.text)) });
  }
  return events;
}

/** Chunk boundaries (sorted, ending with the total length) from arbitrary cut points. */
function boundaries(total: number, cuts: readonly number[]): number[] {
  return [...new Set([...cuts.map((c) => c % (total + 1)), total])].filter((b) => b > 0).sort((a, b) => a - b);
}

function chunksAt(bytes: Uint8Array, ends: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const end of ends) {
    chunks.push(bytes.slice(start, end));
    start = end;
  }
  return chunks;
}

/**
 * The allocations a server must make, in order: a frame's payload when it does not lie inside
 * the chunk its header ends in, and a message of several frames when it is joined.
 */
function expectedAllocations(frames: readonly WireFrameInfo[], ends: readonly number[]): number[] {
  const sizes: number[] = [];
  let offset = 0;
  for (const f of frames) {
    const headerEnd = offset + f.headerLength;
    const chunkEnd = ends.find((end) => end > headerEnd - 1)!;
    if (f.payloadLength > 0 && headerEnd + f.payloadLength > chunkEnd) sizes.push(f.payloadLength);
    if (f.joined !== undefined) sizes.push(f.joined);
    offset += f.bytes.length;
  }
  return sizes;
}

function receiveAll(connection: ReturnType<typeof server>, chunks: readonly Uint8Array[]): ConnectionEvent[] {
  const events: ConnectionEvent[] = [];
  for (const chunk of chunks) {
    connection.receive(chunk);
    events.push(...connection.takeEvents());
  }
  return events;
}

describe('ConnectionOptions.allocate', () => {
  it('with buffers full of garbage, any messages under any chunking decode to exactly what was sent', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, cuts) => {
        const frames = messages.flatMap(messageFrames);
        const wire = concat(frames.map((f) => f.bytes));
        const { allocate } = garbageAllocator();
        const connection = server({ allocate });
        expect(receiveAll(connection, chunksAt(wire, boundaries(wire.length, cuts)))).toEqual(expectedEvents(messages));
        expect(connection.state).toBe('open');
      }),
    );
  });

  it('is called only for payloads that span chunks and for fragmented messages being joined, with their sizes', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, cuts) => {
        const frames = messages.flatMap(messageFrames);
        const wire = concat(frames.map((f) => f.bytes));
        const ends = boundaries(wire.length, cuts);
        const { allocate, sizes } = garbageAllocator();
        receiveAll(server({ allocate }), chunksAt(wire, ends));
        expect(sizes).toEqual(expectedAllocations(frames, ends));
      }),
    );
  });

  it('is never called when every frame arrives whole in one chunk per frame', () => {
    const { allocate, sizes } = garbageAllocator();
    const connection = server({ allocate });
    for (const size of [0, 1, 125, 126, 5000, 70_000]) {
      connection.receive(frame({ opcode: 2, payload: new Uint8Array(size).fill(3), mask: KEY }));
    }
    expect(connection.takeEvents()).toHaveLength(6);
    expect(sizes).toEqual([]);
  });

  it('gives a client its masked frames over 1 KiB, which still carry exactly the payload', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), (size) => {
        const payload = new Uint8Array(size).map((_, i) => i * 13);
        const { allocate, sizes } = garbageAllocator();
        const connection = client({ allocate });
        connection.sendBinary(payload);
        const frames = parseFrames(concat(connection.takeOutput()));
        expect(frames).toHaveLength(1);
        expect(frames[0]!.payload).toEqual(payload);
        const headerLength = 2 + (size < 126 ? 0 : size < 65536 ? 2 : 8) + 4;
        expect(sizes).toEqual(size > 1024 ? [headerLength + size] : []);
      }),
    );
  });

  it('a buffer of the wrong size is a typed error, not corrupt data', () => {
    const connection = server({ allocate: (size) => new Uint8Array(size + 1) });
    const wire = frame({ opcode: 2, payload: new Uint8Array(300), mask: KEY });
    expect(() => connection.receive(wire.slice(0, 100))).toThrow(InvalidArgumentError);
  });

  it('an allocator that throws (cannot hold the payload) closes the connection with 1009', () => {
    const connection = server({
      allocate: () => {
        throw new RangeError('out of memory');
      },
    });
    connection.receive(frame({ opcode: 2, payload: new Uint8Array(300), mask: KEY }).slice(0, 100));
    const events = connection.takeEvents();
    expect(events).toEqual([expect.objectContaining({ type: 'close', code: 1009, wasClean: false })]);
  });
});

describe('shared decoding state', () => {
  it('text decoding on one connection is unaffected by invalid or truncated text on another', () => {
    const byteArb = fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }).map((s) => utf8.encode(s)));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(1), byteArb), { minLength: 1, maxLength: 10 }), (sends) => {
        const connections = [server(), server()];
        for (const [which, bytes] of sends) {
          const connection = connections[which]!;
          if (connection.state !== 'open') continue;
          connection.receive(frame({ opcode: 1, payload: bytes, mask: KEY }));
          let expected: ConnectionEvent['type'];
          try {
            new TextDecoder('utf-8', { fatal: true }).decode(bytes);
            expected = 'text';
          } catch {
            expected = 'close';
          }
          const events = connection.takeEvents();
          expect(events.map((e) => e.type)).toEqual([expected]);
          if (expected === 'text') expect(events[0]).toEqual({ type: 'text', data: asDelivered.decode(bytes) });
        }
      }),
    );
  });

  it('a decoder waiting for the next chunk holds no view of the previous one', () => {
    const decoder = new FrameDecoder({ expectMasked: true });
    decoder.push(frame({ opcode: 2, payload: new Uint8Array(10).fill(1), mask: KEY }));
    expect(decoder.next()).toBe(DecodeStatus.Frame);
    expect(decoder.payload).toEqual(new Uint8Array(10).fill(1));
    expect(decoder.next()).toBe(DecodeStatus.NeedMore);
    expect(decoder.payload.length).toBe(0);
    expect(decoder.pendingBytes).toBe(0);
  });
});
