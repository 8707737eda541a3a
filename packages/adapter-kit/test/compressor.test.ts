// The one compressor of every adapter: Node runs it on its own zlib, Deno and Bun on their
// node:zlib implementations. Its laws are checked here on Node with fast-check, and end to end
// inside both runtimes by packages/deno-bun/test/shared/suite.ts.
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeflateParams } from '@switchyard/codec';
import { ZlibCompressor } from '../src/compressor.js';
import { ConcurrencyLimiter } from '../src/limiter.js';

const TAIL = Uint8Array.of(0x00, 0x00, 0xff, 0xff);
const params = (serverNoContextTakeover = false, clientNoContextTakeover = false, bits = 15): DeflateParams => ({
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
        fc.boolean(),
        async (messages, serverReset, clientReset, bits, serverSends) => {
          const limiter = new ConcurrencyLimiter(2);
          const negotiated = params(serverReset, clientReset, bits);
          const server = new ZlibCompressor(negotiated, 'server', limiter);
          const client = new ZlibCompressor(negotiated, 'client', limiter);
          const [sender, receiver] = serverSends ? [server, client] : [client, server];
          try {
            for (const message of messages) {
              const wire = await sender.compress(message);
              // RFC 7692 §7.2.1: the sender removes the sync-flush tail, the receiver appends it.
              const inflated = await receiver.decompress([wire, TAIL], 1 << 20);
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

  it('removes the sync-flush tail and writes what zlib reads', async () => {
    const compressor = new ZlibCompressor(params(), 'server', new ConcurrencyLimiter(1));
    const out = await compressor.compress(Buffer.from('Hello'));
    expect(Buffer.from(out.subarray(-4)).equals(Buffer.from(TAIL))).toBe(false);
    expect(inflateRawSync(Buffer.concat([out, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH }).toString()).toBe('Hello');
    compressor.dispose();
  });

  it('stops inflating a bomb as soon as the output passes maxSize', async () => {
    // 64 MiB of zeros deflate to ~64 KiB; the limit is 1 MiB.
    const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    expect(bomb.byteLength).toBeLessThan(128 * 1024);
    const compressor = new ZlibCompressor(params(), 'server', new ConcurrencyLimiter(1));
    const before = process.memoryUsage().arrayBuffers;
    const result = await compressor.decompress([bomb, TAIL], 1024 * 1024);
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(result).toBeNull();
    expect(grown).toBeLessThan(16 * 1024 * 1024);
    compressor.dispose();
  });

  it('rejects data that is not DEFLATE, then inflates the next message on a fresh stream', async () => {
    const compressor = new ZlibCompressor(params(), 'server', new ConcurrencyLimiter(1));
    await expect(compressor.decompress([Uint8Array.of(0xff, 0xff, 0xff, 0xff), TAIL], 1024)).rejects.toThrow();
    const ok = deflateRawSync(Buffer.from('again'), { finishFlush: constants.Z_SYNC_FLUSH });
    const next = await compressor.decompress([ok.subarray(0, ok.length - 4), TAIL], 1024);
    expect(Buffer.from(next as Uint8Array).toString()).toBe('again');
    compressor.dispose();
  });

  it('keeps message order across concurrent calls', async () => {
    const compressor = new ZlibCompressor(params(true, true), 'server', new ConcurrencyLimiter(1));
    const peer = new ZlibCompressor(params(true, true), 'client', new ConcurrencyLimiter(1));
    const texts = ['one', 'two', 'three', 'four'].map((t) => new TextEncoder().encode(t.repeat(300)));
    const wires = await Promise.all(texts.map((t) => peer.compress(t)));
    const back = await Promise.all(wires.map((w) => compressor.decompress([w, TAIL], 1 << 20)));
    expect(back.map((b) => new TextDecoder().decode(b as Uint8Array))).toEqual(texts.map((t) => new TextDecoder().decode(t)));
    compressor.dispose();
    peer.dispose();
  });

  it('refuses work after dispose', async () => {
    const compressor = new ZlibCompressor(params(), 'server', new ConcurrencyLimiter(1));
    compressor.dispose();
    await expect(compressor.compress(Uint8Array.of(1, 2, 3))).rejects.toThrow('compressor disposed');
  });
});
