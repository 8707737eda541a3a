import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMask, applyMaskJs, applyMaskSimd, copyMasked, simdMaskAvailable } from '@switchyard/codec';

/** Index of the first difference, or -1: a plain loop, since deep equality of large arrays is slow. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function naiveMask(data: Uint8Array, key: Uint8Array, offset: number): Uint8Array {
  const out = data.slice();
  for (let i = 0; i < out.length; i++) out[i]! ^= key[(offset + i) % 4]!;
  return out;
}

/** A view of `data` placed at `shift` bytes into a larger buffer, to vary the alignment. */
function placed(data: Uint8Array, shift: number): Uint8Array {
  const backing = new Uint8Array(data.length + shift + 3).fill(0xaa);
  const view = backing.subarray(shift, shift + data.length);
  view.set(data);
  return view;
}

const kernels = [
  ['JavaScript', applyMaskJs],
  ['WebAssembly SIMD', applyMaskSimd],
  ['dispatching', applyMask],
] as const;

// Lengths around the word, vector and block boundaries, plus arbitrary ones.
const lengths = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 4000, max: 70_000 }), fc.constantFrom(65536, 65537, 131072 + 5));

describe.each(kernels)('masking with the %s kernel', (_name, mask) => {
  it('(b) equals the naive byte loop for any data, key, offset and alignment', () => {
    fc.assert(
      fc.property(lengths, fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(1000), fc.nat(7), fc.nat(255), (length, key, offset, shift, seed) => {
        const data = new Uint8Array(length).map((_, i) => (i * 131 + seed) & 0xff);
        const view = placed(data, shift);
        mask(view, key, offset);
        expect(firstDifference(view, naiveMask(data, key, offset))).toBe(-1);
        // Bytes around the view are untouched.
        const backing = new Uint8Array(view.buffer);
        const outside = [...backing.subarray(0, shift), ...backing.subarray(shift + length)];
        expect(outside.every((b) => b === 0xaa)).toBe(true);
      }),
      { numRuns: 150 },
    );
  }, 30_000);

  it('(b) applied twice is the identity', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9000 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(3), fc.nat(3), (data, key, offset, shift) => {
        const view = placed(data, shift);
        mask(view, key, offset);
        mask(view, key, offset);
        expect(firstDifference(view, data)).toBe(-1);
      }),
    );
  }, 30_000);

  it('unmasks a payload piece by piece when each piece passes its offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6000 }), fc.array(fc.nat(5000), { maxLength: 5 }), (data, cuts) => {
        const key = new Uint8Array([1, 2, 3, 4]);
        const copy = data.slice();
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        let start = 0;
        for (const end of [...points, data.length]) {
          mask(copy.subarray(start, end), key, start);
          start = end;
        }
        expect(firstDifference(copy, naiveMask(data, key, 0))).toBe(-1);
      }),
    );
  });
});

describe('copyMasked', () => {
  it('writes the masked copy at any position of the target and leaves the source and the rest alone', () => {
    fc.assert(
      fc.property(lengths, fc.nat(3), fc.nat(64), fc.nat(1000), (length, shift, at, offset) => {
        const key = new Uint8Array([0xde, 0xad, 0xbe, 0xef]);
        const source = placed(new Uint8Array(length).map((_, i) => (i * 17) & 0xff), shift);
        const before = source.slice();
        const target = new Uint8Array(at + length + 5).fill(0x55);
        copyMasked(target, at, source, key, offset);
        expect(firstDifference(target.subarray(at, at + length), naiveMask(before, key, offset))).toBe(-1);
        expect([...target.subarray(0, at), ...target.subarray(at + length)].every((b) => b === 0x55)).toBe(true);
        expect(firstDifference(source, before)).toBe(-1);
      }),
      { numRuns: 150 },
    );
  }, 30_000);
});

describe('the WebAssembly SIMD kernel', () => {
  it('loads in this runtime (every supported runtime has WebAssembly SIMD)', () => {
    expect(simdMaskAvailable).toBe(true);
  });
});
