// Read-side memory behind decompression is bounded: when a peer's compressed frames arrive
// faster than zlib inflates them, the connection pauses its transport until the inflation has
// caught up, and nothing is lost or reordered. Real zlib; the transport is a recorder, so the
// whole burst really arrives in one read, as a fast peer's bytes do.
import { randomBytes } from 'node:crypto';
import { deflateRawSync, constants } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../src/limiter.js';
import { WebSocketConnection } from '../src/connection.js';
import { READ_PAUSE_INFLATE_BYTES, resolveConnectionOptions } from '../src/options.js';
import type { Transport, TransportHandler } from '../src/transport.js';

class RecordingTransport implements Transport {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  readonly pendingBytes = 0;
  closed = false;
  paused = false;
  /** `pause`/`resume` calls, in order, with the messages delivered when each happened. */
  readonly log: string[] = [];
  handler: TransportHandler | undefined;
  delivered = 0;
  attach(handler: TransportHandler): void {
    this.handler = handler;
  }
  write(): boolean {
    return true;
  }
  end(): void {
    this.closed = true;
  }
  destroy(): void {
    this.closed = true;
  }
  pause(): void {
    this.paused = true;
    this.log.push(`pause@${this.delivered}`);
  }
  resume(): void {
    this.paused = false;
    this.log.push(`resume@${this.delivered}`);
  }
}

/** A masked, compressed client text frame (RSV1) carrying `payload`. */
function compressedFrame(payload: Uint8Array): Uint8Array {
  const deflated = deflateRawSync(payload, { finishFlush: constants.Z_SYNC_FLUSH });
  const body = deflated.subarray(0, deflated.length - 4);
  const length = body.length;
  // The shortest length encoding, as RFC 6455 §5.2 requires.
  const header =
    length < 126
      ? [0x80 | 0x40 | 0x1, 0x80 | length]
      : length < 0x10000
        ? [0x80 | 0x40 | 0x1, 0x80 | 126, length >>> 8, length & 0xff]
        : [0x80 | 0x40 | 0x1, 0x80 | 127, 0, 0, 0, 0, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
  const key = [1, 2, 3, 4];
  const frame = new Uint8Array(header.length + 4 + length);
  frame.set(header, 0);
  frame.set(key, header.length);
  for (let i = 0; i < length; i++) frame[header.length + 4 + i] = body[i]! ^ key[i & 3]!;
  return frame;
}

describe('inflation backpressure', () => {
  it('pauses reading while compressed input waits behind inflation, then delivers every message in order', async () => {
    // Base64 of random bytes: text that deflate shrinks only to about 75 %, so the queued input is large.
    const messages = Array.from({ length: 24 }, (_, i) => `${i}:${randomBytes(48 * 1024).toString('base64')}`);
    const frames = messages.map((text) => compressedFrame(new TextEncoder().encode(text)));
    const burst = Buffer.concat(frames);
    expect(burst.byteLength).toBeGreaterThan(2 * READ_PAUSE_INFLATE_BYTES);

    const transport = new RecordingTransport();
    const connection = new WebSocketConnection({
      transport,
      role: 'server',
      options: resolveConnectionOptions({ maxPayload: 1024 * 1024 }, 'server'),
      deflate: {
        params: { serverNoContextTakeover: false, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
        options: {},
        limiter: new ConcurrencyLimiter(10),
      },
      protocol: '',
      extensions: 'permessage-deflate',
      url: '/',
      user: undefined,
    });
    const received: string[] = [];
    const all = new Promise<void>((resolve) =>
      connection.on('message', (data) => {
        received.push(String(data));
        transport.delivered = received.length;
        if (received.length === messages.length) resolve();
      }),
    );
    connection.start();
    transport.handler!.data(burst);
    // The whole burst is queued behind the first inflation: reading stops at once.
    expect(transport.paused).toBe(true);
    expect(transport.log).toEqual(['pause@0']);
    await all;
    expect(received).toEqual(messages);
    // Reading resumed once the queue shrank, before the last message was out.
    expect(transport.paused).toBe(false);
    expect(transport.log[0]).toBe('pause@0');
    expect(transport.log.at(-1)).toMatch(/^resume@/);
    const resumedAt = Number(transport.log.at(-1)!.split('@')[1]);
    expect(resumedAt).toBeLessThan(messages.length);
    connection.terminate();
  });
});
