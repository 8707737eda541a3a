// The zlib compressor is the same file in Deno, Bun and here (node:zlib on Node): its laws are
// checked on Node with fast-check, and end to end inside both runtimes by test/shared/suite.ts.
import fc from 'fast-check';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { DeflateParams } from '@switchyard/codec';
import { ZlibCompressor } from '../src/compressor.js';
import { ConcurrencyLimiter } from '../src/limiter.js';

const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);
const params = (serverNoContextTakeover: boolean, clientNoContextTakeover: boolean, bits = 15): DeflateParams => ({
  serverNoContextTakeover,
  clientNoContextTakeover,
  serverMaxWindowBits: bits,
  clientMaxWindowBits: bits,
});

describe('ZlibCompressor', () => {
  it('inflates, message after message, what the other side deflated (any context takeover, any window)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 4096 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 8, max: 15 }),
        async (messages, serverReset, clientReset, bits) => {
          const limiter = new ConcurrencyLimiter(2);
          const negotiated = params(serverReset, clientReset, bits);
          const server = new ZlibCompressor(negotiated, 'server', limiter);
          const client = new ZlibCompressor(negotiated, 'client', limiter);
          try {
            for (const message of messages) {
              const wire = await client.compress(message);
              // RFC 7692 §7.2.1: the sync-flush tail is removed by the sender…
              const inflated = await server.decompress([wire, TAIL], 1 << 20);
              expect(inflated).not.toBeNull();
              expect(Buffer.from(inflated as Uint8Array).equals(Buffer.from(message))).toBe(true);
            }
          } finally {
            server.dispose();
            client.dispose();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('stops a decompression bomb at maxSize without producing the rest', async () => {
    const compressor = new ZlibCompressor(params(false, false), 'server', new ConcurrencyLimiter(1));
    const bomb = deflateRawSync(new Uint8Array(32 * 1024 * 1024));
    expect(bomb.byteLength).toBeLessThan(64 * 1024);
    const started = process.memoryUsage().arrayBuffers;
    const result = await compressor.decompress([bomb, TAIL], 1024 * 1024);
    expect(result).toBeNull();
    expect(process.memoryUsage().arrayBuffers - started).toBeLessThan(16 * 1024 * 1024);
    compressor.dispose();
  });

  it('rejects data that is not DEFLATE, and keeps order across concurrent calls', async () => {
    const compressor = new ZlibCompressor(params(true, true), 'server', new ConcurrencyLimiter(1));
    await expect(compressor.decompress([Uint8Array.of(0xff, 0xff, 0xff, 0xff), TAIL], 1024)).rejects.toThrow();
    const peer = new ZlibCompressor(params(true, true), 'client', new ConcurrencyLimiter(1));
    const texts = ['one', 'two', 'three', 'four'].map((t) => new TextEncoder().encode(t.repeat(300)));
    const wires = await Promise.all(texts.map((t) => peer.compress(t)));
    const back = await Promise.all(wires.map((w) => compressor.decompress([w, TAIL], 1 << 20)));
    expect(back.map((b) => new TextDecoder().decode(b as Uint8Array))).toEqual(texts.map((t) => new TextDecoder().decode(t)));
    compressor.dispose();
    peer.dispose();
  });
});
