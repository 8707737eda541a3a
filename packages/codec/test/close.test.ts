import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CloseCode, InvalidCloseError, decodeClosePayload, encodeClosePayload, isValidCloseCode } from '@switchyard/codec';
import { hex, toHex } from './support/wire.js';

const sendable = fc.oneof(fc.integer({ min: 1000, max: 1003 }), fc.integer({ min: 1007, max: 1014 }), fc.integer({ min: 3000, max: 4999 }));
const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

describe('close codes', () => {
  it('names the codes of RFC 6455 §7.4.1 and the IANA registry', () => {
    expect(CloseCode).toMatchObject({ Normal: 1000, GoingAway: 1001, ProtocolError: 1002, NoStatusReceived: 1005, Abnormal: 1006, InvalidPayload: 1007, MessageTooBig: 1009, BadGateway: 1014 });
  });

  it('accepts exactly 1000–1003, 1007–1014 and 3000–4999 on the wire', () => {
    const valid = [];
    for (let code = 0; code < 70000; code++) if (isValidCloseCode(code)) valid.push(code);
    const expected = [1000, 1001, 1002, 1003, ...Array.from({ length: 8 }, (_, i) => 1007 + i), ...Array.from({ length: 2000 }, (_, i) => 3000 + i)];
    expect(valid).toEqual(expected);
    expect(isValidCloseCode(1000.5)).toBe(false);
  });
});

describe('close payloads', () => {
  it('encode the code big-endian followed by the UTF-8 reason', () => {
    expect(toHex(encodeClosePayload(1000, 'κ'))).toBe('03 e8 ce ba');
  });

  it('are empty without a code', () => {
    expect(encodeClosePayload()).toEqual(new Uint8Array(0));
    expect(() => encodeClosePayload(undefined, 'why')).toThrow(InvalidCloseError);
  });

  it('refuse codes that may not be sent', () => {
    for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000]) expect(() => encodeClosePayload(code)).toThrow(InvalidCloseError);
  });

  it('accept a reason of 123 bytes and refuse one of 124', () => {
    expect(encodeClosePayload(1000, 'r'.repeat(123))).toHaveLength(125);
    expect(() => encodeClosePayload(1000, 'r'.repeat(124))).toThrow(InvalidCloseError);
    expect(() => encodeClosePayload(1000, '€'.repeat(42))).toThrow(/126 bytes/);
  });

  it('decode an empty payload as 1005 (no status)', () => {
    expect(decodeClosePayload(new Uint8Array(0))).toEqual({ ok: true, code: 1005, reason: '' });
  });

  it('decode a 1-byte payload as a violation', () => {
    expect(decodeClosePayload(hex('03'))).toMatchObject({ ok: false, violation: { kind: 'invalid-close-payload', closeCode: 1002 } });
  });

  it('decode a truncated UTF-8 reason as an invalid-payload violation (1007)', () => {
    expect(decodeClosePayload(hex('03 e8 61 e2 82'))).toMatchObject({ ok: false, violation: { kind: 'invalid-utf8', closeCode: 1007 } });
  });

  it('(e) round-trip for any sendable code and any reason that fits', () => {
    fc.assert(
      fc.property(sendable, fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => utf8Length(s) <= 123), (code, reason) => {
        expect(decodeClosePayload(encodeClosePayload(code, reason))).toEqual({ ok: true, code, reason });
      }),
    );
  });

  it('decoding never throws, and accepts exactly the payloads that have a valid code and UTF-8 reason', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 125 }), (payload) => {
        const result = decodeClosePayload(payload);
        if (payload.length === 0) {
          expect(result.ok).toBe(true);
          return;
        }
        let utf8ok = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(2));
        } catch {
          utf8ok = false;
        }
        expect(result.ok).toBe(payload.length >= 2 && isValidCloseCode((payload[0]! << 8) | payload[1]!) && utf8ok);
      }),
    );
  });
});
