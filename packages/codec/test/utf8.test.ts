import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Utf8Validator, isValidUtf8 } from '@switchyard/codec';
import { hex } from './support/wire.js';

function viaTextDecoder(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Bytes that are mostly UTF-8, with the occasional invalid byte, so both outcomes are common. */
const nearlyUtf8 = fc
  .tuple(fc.string({ unit: 'binary', maxLength: 40 }), fc.array(fc.tuple(fc.nat(200), fc.integer({ min: 0x80, max: 0xff })), { maxLength: 2 }))
  .map(([text, flips]) => {
    const bytes = new TextEncoder().encode(text);
    for (const [at, value] of flips) if (bytes.length > 0) bytes[at % bytes.length] = value;
    return bytes;
  });
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), nearlyUtf8);

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let start = 0;
  for (const end of [...points, bytes.length]) {
    pieces.push(bytes.subarray(start, end));
    start = end;
  }
  return pieces;
}

describe('the UTF-8 validator', () => {
  it('(d) agrees with a fatal TextDecoder on any bytes split at any points', () => {
    fc.assert(
      fc.property(anyBytes, fc.array(fc.nat(), { maxLength: 6 }), (bytes, cuts) => {
        const validator = new Utf8Validator();
        let ok = true;
        for (const piece of splitAt(bytes, cuts)) ok = validator.push(piece) && ok;
        expect(validator.finish() && ok).toBe(viaTextDecoder(bytes));
      }),
      { numRuns: 2000 },
    );
  }, 30_000);

  it('fails on the first byte after which no valid continuation exists', () => {
    fc.assert(
      fc.property(anyBytes, (bytes) => {
        // A prefix is "viable" when some completion makes it valid: try every short suffix shape.
        const validator = new Utf8Validator();
        for (let i = 0; i < bytes.length; i++) {
          const accepted = validator.push(bytes, i, i + 1);
          const prefix = bytes.subarray(0, i + 1);
          const viable = ['', '80', '80 80', '80 80 80', 'a0 80', '90 80 80', '8f 80 80', '9f 80'].some((tail) => viaTextDecoder(new Uint8Array([...prefix, ...hex(tail)])));
          expect(accepted).toBe(viable);
          if (!accepted) return;
        }
      }),
      { numRuns: 1000 },
    );
  }, 30_000);

  it('accepts every code point at every split, one byte at a time', () => {
    const validator = new Utf8Validator();
    for (const cp of [0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff]) {
      const bytes = new TextEncoder().encode(String.fromCodePoint(cp));
      for (let i = 0; i < bytes.length; i++) expect(validator.push(bytes, i, i + 1)).toBe(true);
    }
    expect(validator.finish()).toBe(true);
  });

  it('rejects overlongs, surrogates, code points above U+10FFFF and stray continuation bytes', () => {
    for (const bad of ['c0 80', 'c1 bf', 'e0 80 80', 'e0 9f bf', 'ed a0 80', 'ed bf bf', 'f0 80 80 80', 'f0 8f bf bf', 'f4 90 80 80', 'f5 80 80 80', 'ff', '80', 'bf', 'e2 82', 'e2 28 a1']) {
      expect(isValidUtf8(hex(bad)), bad).toBe(false);
    }
  });

  it('reports the end of the stream inside a sequence as invalid, and resets for the next message', () => {
    const validator = new Utf8Validator();
    expect(validator.push(hex('e2 82'))).toBe(true);
    expect(validator.finish()).toBe(false);
    expect(validator.push(hex('61'))).toBe(true);
    expect(validator.finish()).toBe(true);
  });
});
