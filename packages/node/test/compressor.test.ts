import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeflateParams } from '@switchyard/codec';
import { NodeCompressor } from '../src/compressor.js';
import { ConcurrencyLimiter } from '../src/limiter.js';

const TAIL = Uint8Array.of(0, 0, 0xff, 0xff);
const params = (overrides: Partial<DeflateParams> = {}): DeflateParams => ({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  ...overrides,
});

describe('NodeCompressor', () => {
  it('round-trips any sequence of messages between a server and a client, in every context mode', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 4096 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.integer({ min: 9, max: 15 }),
        async (messages, noTakeover, bits) => {
          const p = params({ serverNoContextTakeover: noTakeover, serverMaxWindowBits: bits });
          const limiter = new ConcurrencyLimiter(2);
          const server = new NodeCompressor(p, 'server', limiter);
          const client = new NodeCompressor(p, 'client', limiter);
          try {
            for (const message of messages) {
              const compressed = await server.compress(message);
              const inflated = await client.decompress([compressed, TAIL], 1 << 20);
              expect(inflated).not.toBeNull();
              expect(Buffer.from(inflated as Uint8Array).equals(Buffer.from(message))).toBe(true);
            }
          } finally {
            server.dispose();
            client.dispose();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('removes the sync-flush tail and reads what zlib wrote', async () => {
    const compressor = new NodeCompressor(params(), 'server', new ConcurrencyLimiter(1));
    const out = await compressor.compress(Buffer.from('Hello'));
    expect(Buffer.from(out.subarray(-4)).equals(Buffer.from(TAIL))).toBe(false);
    expect(inflateRawSync(Buffer.concat([out, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH }).toString()).toBe('Hello');
    compressor.dispose();
  });

  it('stops inflating a bomb as soon as the output passes maxSize', async () => {
    // 64 MiB of zeros deflate to ~64 KiB; the limit is 1 MiB.
    const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    const compressor = new NodeCompressor(params(), 'server', new ConcurrencyLimiter(1));
    const before = process.memoryUsage().arrayBuffers;
    const result = await compressor.decompress([bomb, TAIL], 1024 * 1024);
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(result).toBeNull();
    expect(grown).toBeLessThan(16 * 1024 * 1024);
    compressor.dispose();
  });

  it('rejects data that is not DEFLATE', async () => {
    const compressor = new NodeCompressor(params(), 'server', new ConcurrencyLimiter(1));
    await expect(compressor.decompress([Uint8Array.of(0xff, 0xff, 0xff, 0xff), TAIL], 1024)).rejects.toThrow();
    // A failed stream is replaced: the next message inflates.
    const ok = deflateRawSync(Buffer.from('again'), { finishFlush: constants.Z_SYNC_FLUSH });
    const next = await compressor.decompress([ok.subarray(0, ok.length - 4), TAIL], 1024);
    expect(Buffer.from(next as Uint8Array).toString()).toBe('again');
    compressor.dispose();
  });

  it('keeps no more than concurrencyLimit zlib jobs running', async () => {
    const limiter = new ConcurrencyLimiter(2);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        limiter.run(async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running -= 1;
        }),
      ),
    );
    expect(peak).toBe(2);
  });
});
