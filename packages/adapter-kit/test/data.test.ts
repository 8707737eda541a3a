import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatChunks, toBytes, utf8ByteLength } from '../src/data.js';

describe('toBytes', () => {
  it('views the same memory as any binary input, never a copy', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.nat(7), (bytes, offset) => {
        const view = new DataView(bytes.buffer, bytes.byteOffset + offset, bytes.byteLength - offset);
        const out = toBytes(view);
        expect(out.buffer).toBe(bytes.buffer);
        expect([...out]).toEqual([...bytes.subarray(offset)]);
        out[0] = (out[0] as number) ^ 0xff;
        expect(bytes[offset]).toBe(out[0]);
      }),
    );
    const buffer = new ArrayBuffer(4);
    expect(toBytes(buffer).buffer).toBe(buffer);
    const typed = new Uint8Array(3);
    expect(toBytes(typed)).toBe(typed);
    const words = Uint16Array.of(1, 2);
    expect(toBytes(words).byteLength).toBe(4);
  });
});

describe('concatChunks', () => {
  it('joins any chunks in order, and hands a single chunk back as it is', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 8 }), (chunks) => {
        const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
        const out = concatChunks(chunks, total);
        expect(out.byteLength).toBe(total);
        expect([...out]).toEqual(chunks.flatMap((chunk) => [...chunk]));
        if (chunks.length === 1) expect(out).toBe(chunks[0]);
      }),
    );
  });
});

describe('utf8ByteLength', () => {
  it('is the length TextEncoder produces, lone surrogates included (the high-water mark counts bytes on the wire)', () => {
    const encoder = new TextEncoder();
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(utf8ByteLength(text)).toBe(encoder.encode(text).byteLength);
      }),
      { numRuns: 2000 },
    );
    expect(utf8ByteLength('é'.repeat(1200))).toBe(2400);
    expect(utf8ByteLength('\ud83d\ude00')).toBe(4);
    expect(utf8ByteLength('\ud83d')).toBe(3);
  });
});
