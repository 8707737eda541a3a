import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeStatus, FrameDecoder, encodeFrame, encodeFrameHeader, frameHeaderLength } from '@switchyard/codec';
import { concat, frame, hex, toHex } from './support/wire.js';

interface Decoded {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Feeds `chunks` in order and collects frames; a violation ends the list with its kind. */
function decodeAll(decoder: FrameDecoder, chunks: readonly Uint8Array[]): (Decoded | string)[] {
  const out: (Decoded | string)[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (;;) {
      const status = decoder.next();
      if (status === DecodeStatus.NeedMore) break;
      if (status === DecodeStatus.Failed) return [...out, decoder.violation!.kind];
      out.push({ fin: decoder.fin, rsv1: decoder.rsv1, opcode: decoder.opcode, payload: decoder.payload.slice() });
    }
  }
  return out;
}

function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const end of [...points, bytes.length]) {
    pieces.push(bytes.slice(start, end));
    start = end;
  }
  return pieces;
}

const payloadArb = fc.oneof(
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 140 }) },
  // Large payloads around the 16/64-bit length boundary, filled from a seed (cheap to generate).
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 65530, max: 65540 }), fc.nat(255)).map(([n, seed]) => new Uint8Array(n).map((_, i) => (i * 7 + seed) & 0xff)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 65536, max: 70000 }), fc.nat(255)).map(([n, seed]) => new Uint8Array(n).map((_, i) => (i * 13 + seed) & 0xff)) },
);
const frameArb = fc.oneof(
  fc.record({ opcode: fc.constantFrom(1, 2), fin: fc.boolean(), rsv1: fc.boolean(), payload: payloadArb }),
  // RSV1 marks the first frame of a compressed message; a continuation never carries it.
  fc.record({ opcode: fc.constant(0), fin: fc.boolean(), rsv1: fc.constant(false), payload: payloadArb }),
  fc.record({ opcode: fc.constantFrom(8, 9, 10), fin: fc.constant(true), rsv1: fc.constant(false), payload: fc.uint8Array({ maxLength: 125 }) }),
);

describe('frame headers', () => {
  it('use the minimal length form at every boundary', () => {
    expect(toHex(encodeFrameHeader({ opcode: 2, fin: true, payloadLength: 125 }))).toBe('82 7d');
    expect(toHex(encodeFrameHeader({ opcode: 2, fin: true, payloadLength: 126 }))).toBe('82 7e 00 7e');
    expect(toHex(encodeFrameHeader({ opcode: 2, fin: true, payloadLength: 65535 }))).toBe('82 7e ff ff');
    expect(toHex(encodeFrameHeader({ opcode: 2, fin: true, payloadLength: 65536 }))).toBe('82 7f 00 00 00 00 00 01 00 00');
    expect(toHex(encodeFrameHeader({ opcode: 2, fin: true, payloadLength: 2 ** 40 + 5 }))).toBe('82 7f 00 00 01 00 00 00 00 05');
  });

  it('carry FIN, RSV1, the opcode and the mask key', () => {
    expect(toHex(encodeFrameHeader({ opcode: 1, fin: false, rsv1: true, payloadLength: 3, maskKey: hex('01 02 03 04') }))).toBe('41 83 01 02 03 04');
    expect(frameHeaderLength(70000, true)).toBe(14);
  });

  it('encodeFrame masks a copy of the payload and leaves the original alone', () => {
    const payload = hex('48 65 6c 6c 6f');
    expect(toHex(encodeFrame({ opcode: 1, fin: true, maskKey: hex('37 fa 21 3d') }, payload))).toBe('81 85 37 fa 21 3d 7f 9f 4d 51 58');
    expect(toHex(payload)).toBe('48 65 6c 6c 6f');
  });
});

describe('the frame decoder', () => {
  it('returns a payload inside one chunk as a view of that chunk, unmasked in place', () => {
    const chunk = hex('81 85 37 fa 21 3d 7f 9f 4d 51 58');
    const decoder = new FrameDecoder({ expectMasked: true });
    decoder.push(chunk);
    expect(decoder.next()).toBe(DecodeStatus.Frame);
    expect(decoder.payload.buffer).toBe(chunk.buffer);
    expect(new TextDecoder().decode(decoder.payload)).toBe('Hello');
    expect(decoder.next()).toBe(DecodeStatus.NeedMore);
  });

  it('refuses RSV1 unless an extension allows it, and accepts it when one does', () => {
    const bytes = frame({ opcode: 1, rsv: 4, payload: 'x' });
    expect(decodeAll(new FrameDecoder({ expectMasked: false }), [bytes.slice()])).toEqual(['reserved-bits']);
    expect(decodeAll(new FrameDecoder({ expectMasked: false, allowRsv1: true }), [bytes.slice()])).toEqual([
      { fin: true, rsv1: true, opcode: 1, payload: hex('78') },
    ]);
  });

  it('fails on a bad first byte before the rest of the header arrives', () => {
    expect(decodeAll(new FrameDecoder({ expectMasked: true }), [hex('83')])).toEqual([]);
    expect(decodeAll(new FrameDecoder({ expectMasked: true }), [hex('83'), hex('ff')])).toEqual(['reserved-opcode']);
  });

  it('refuses a 16-bit or 64-bit length that a shorter form could hold', () => {
    const sixteen = frame({ opcode: 2, payload: new Uint8Array(125), lengthForm: 16 });
    const sixtyFour = frame({ opcode: 2, payload: new Uint8Array(65535), lengthForm: 64 });
    expect(decodeAll(new FrameDecoder({ expectMasked: false }), [sixteen])).toEqual(['non-minimal-length']);
    expect(decodeAll(new FrameDecoder({ expectMasked: false }), [sixtyFour])).toEqual(['non-minimal-length']);
  });

  it('checks maxPayload against the declared length of data frames only', () => {
    const decoder = new FrameDecoder({ expectMasked: false, maxPayload: 3 });
    expect(decodeAll(decoder, [frame({ opcode: 9, payload: 'ping!' }), frame({ opcode: 2, payload: 'abcd' })])).toEqual([
      { fin: true, rsv1: false, opcode: 9, payload: new TextEncoder().encode('ping!') },
      'message-too-big',
    ]);
  });

  it('(a) decodes any frame sequence to itself under any split into chunks, both roles', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        (frames, masked, cuts, key) => {
          const wire = concat(frames.map((f) => encodeFrame({ opcode: f.opcode, fin: f.fin, rsv1: f.rsv1, maskKey: masked ? key : undefined }, f.payload)));
          const decoded = decodeAll(new FrameDecoder({ expectMasked: masked, allowRsv1: true }), splitAt(wire, cuts));
          expect(decoded).toHaveLength(frames.length);
          decoded.forEach((d, i) => {
            const f = frames[i]!;
            expect(d).toMatchObject({ fin: f.fin, rsv1: f.rsv1, opcode: f.opcode });
            expect(sameBytes((d as Decoded).payload, f.payload)).toBe(true);
          });
        },
      ),
      { numRuns: 100 },
    );
  }, 30_000);

  it('(a) decodes one byte at a time exactly as in one chunk', () => {
    fc.assert(
      fc.property(fc.array(frameArb.filter((f) => f.payload.length < 300), { maxLength: 5 }), (frames) => {
        const wire = concat(frames.map((f) => frame({ opcode: f.opcode, fin: f.fin, rsv: f.rsv1 ? 4 : 0, payload: f.payload, mask: hex('01 02 03 04') })));
        const bytewise = Array.from(wire, (b) => new Uint8Array([b]));
        const options = { expectMasked: true, allowRsv1: true };
        expect(decodeAll(new FrameDecoder(options), bytewise)).toEqual(decodeAll(new FrameDecoder(options), [wire.slice()]));
      }),
    );
  }, 30_000);
});
