import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeAccept, decodeBase64, encodeBase64, generateKey, isValidKey, sha1, WEBSOCKET_GUID } from '../src/index.js';

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

/** The platform's SHA-1 (WebCrypto: OpenSSL in Node, BoringSSL in Deno/Bun) as the reference. */
async function referenceSha1(data: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-1', new Uint8Array(data))));
}

/** The platform's base64 (btoa over a binary string) as the reference. */
function referenceBase64(data: Uint8Array): string {
  let binary = '';
  for (const byte of data) binary += String.fromCharCode(byte);
  return btoa(binary);
}

describe('sha1', () => {
  it('hashes "abc" to the FIPS 180 example digest', () => {
    expect(hex(sha1(ascii('abc')))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });

  it('hashes the empty string to da39a3ee…', () => {
    expect(hex(sha1(new Uint8Array(0)))).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });

  it('hashes the 448-bit FIPS 180 message (two blocks after padding)', () => {
    expect(hex(sha1(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '84983e441c3bd26ebaae4aa1f95129e5e54670f1',
    );
  });

  it('hashes the 896-bit FIPS 180 message', () => {
    const message =
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu';
    expect(hex(sha1(ascii(message)))).toBe('a49b2446a02c645bf419f995b67091253a04a259');
  });

  it('hashes a million "a" to 34aa973c…', () => {
    expect(hex(sha1(new Uint8Array(1_000_000).fill(0x61)))).toBe('34aa973cd4c4daa4f61eeb2bdbad27316534016f');
  });

  it('agrees with the platform SHA-1 at every length around the block and padding boundaries', async () => {
    for (let length = 0; length <= 200; length++) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      expect(hex(sha1(data)), `length ${length}`).toBe(await referenceSha1(data));
    }
  });

  it('agrees with the platform SHA-1 on any bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (data) => {
        expect(hex(sha1(data))).toBe(await referenceSha1(data));
      }),
      { numRuns: 300 },
    );
  });
});

describe('base64', () => {
  it('encodes the RFC 4648 §10 test vectors', () => {
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of vectors) {
      expect(encodeBase64(ascii(plain))).toBe(encoded);
      expect(decodeBase64(encoded)).toEqual(ascii(plain));
    }
  });

  it('agrees with btoa and round-trips through decodeBase64 on any bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (data) => {
        const encoded = encodeBase64(data);
        expect(encoded).toBe(referenceBase64(data));
        expect(decodeBase64(encoded)).toEqual(data);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses text that is not padded base64', () => {
    for (const bad of ['Zg', 'Zg=', 'Z===', '=Zg=', 'Zg==Zg==', 'Zm9v!', 'Zm 9v', 'Zm9v\n', 'Zé==', 'this is not base64!!']) {
      expect(decodeBase64(bad), bad).toBeUndefined();
    }
  });
});

describe('Sec-WebSocket-Key and Sec-WebSocket-Accept', () => {
  it('computes the accept value of the RFC 6455 §1.3 example', () => {
    expect(computeAccept('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('uses the GUID of RFC 6455 §1.3', () => {
    expect(WEBSOCKET_GUID).toBe('258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
  });

  it('computes base64(SHA-1(key + GUID)) with the platform digest for any key (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 16, maxLength: 16 }), async (nonce) => {
        const key = encodeBase64(nonce);
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', new Uint8Array(ascii(key + WEBSOCKET_GUID))));
        expect(computeAccept(key)).toBe(referenceBase64(digest));
      }),
      { numRuns: 100 },
    );
  });

  it('generates a key from 16 bytes of the injected random source', () => {
    const key = generateKey((target) => target.set(Array.from({ length: target.length }, (_, i) => i)));
    expect(key).toBe(encodeBase64(Uint8Array.from({ length: 16 }, (_, i) => i)));
    expect(isValidKey(key)).toBe(true);
  });

  it('generates distinct valid keys from crypto.getRandomValues by default', () => {
    const keys = new Set(Array.from({ length: 50 }, () => generateKey()));
    expect(keys.size).toBe(50);
    for (const key of keys) expect(isValidKey(key)).toBe(true);
  });

  it('accepts as a key only base64 that decodes to exactly 16 bytes', () => {
    expect(isValidKey(encodeBase64(new Uint8Array(16)))).toBe(true);
    expect(isValidKey(encodeBase64(new Uint8Array(15)))).toBe(false);
    expect(isValidKey(encodeBase64(new Uint8Array(17)))).toBe(false);
    expect(isValidKey('')).toBe(false);
    expect(isValidKey('AAAAAAAAAAAAAAAAAAAAAA')).toBe(false); // unpadded
    expect(isValidKey('AAAAAAAAAAAAAAAAAAAAA*==')).toBe(false);
  });
});
