import { describe, expect, it } from 'vitest';
import { MAX_BATCH_BYTES, WriteBatch, type BatchedPeer } from '../src/write-batch.js';

/** A connection that logs cork/uncork and counts what it holds as `bufferedAmount`. */
function peer(log: string[]): BatchedPeer & { send(bytes: number): void } {
  let depth = 0;
  let buffered = 0;
  return {
    corkedAt: undefined,
    peer: {
      get bufferedAmount() {
        return buffered;
      },
      cork() {
        depth++;
        log.push('cork');
      },
      uncork() {
        depth--;
        log.push('uncork');
        if (depth === 0) buffered = 0;
      },
    },
    send(bytes: number) {
      buffered += bytes;
    },
  };
}

describe('WriteBatch', () => {
  it('corks a connection once per turn and uncorks it when the turn ends', () => {
    const log: string[] = [];
    const flushes: Array<() => void> = [];
    const batch = new WriteBatch(() => undefined, (flush) => flushes.push(flush));
    const a = peer(log);
    for (let i = 0; i < 10; i++) {
      batch.hold(a);
      a.send(100);
    }
    expect(log).toEqual(['cork']);
    expect(flushes).toHaveLength(1);
    flushes[0]?.();
    expect(log).toEqual(['cork', 'uncork']);
    expect(a.corkedAt).toBeUndefined();
    batch.hold(a);
    expect(flushes).toHaveLength(2);
  });

  it('writes what it holds once a connection holds MAX_BATCH_BYTES, and holds on', () => {
    const log: string[] = [];
    const batch = new WriteBatch(() => undefined, () => undefined);
    const a = peer(log);
    for (let i = 0; i < 130; i++) {
      batch.hold(a);
      a.send(1024);
    }
    // 130 KiB sent: written mid-turn at 64 KiB and at 128 KiB, then held again.
    expect(log).toEqual(['cork', 'uncork', 'cork', 'uncork', 'cork']);
    expect(a.peer.bufferedAmount).toBeLessThan(MAX_BATCH_BYTES);
  });

  it('leaves connections without cork alone, and one failing uncork does not keep the others corked', () => {
    const errors: unknown[] = [];
    const flushes: Array<() => void> = [];
    const batch = new WriteBatch((error) => errors.push(error), (flush) => flushes.push(flush));
    const plain: BatchedPeer = { corkedAt: undefined, peer: { bufferedAmount: 0 } };
    batch.hold(plain);
    expect(plain.corkedAt).toBeUndefined();
    const log: string[] = [];
    const failing: BatchedPeer = {
      corkedAt: undefined,
      peer: {
        bufferedAmount: 0,
        cork: () => undefined,
        uncork: () => {
          throw new Error('socket gone');
        },
      },
    };
    const ok = peer(log);
    batch.hold(failing);
    batch.hold(ok);
    flushes[0]?.();
    expect(errors).toHaveLength(1);
    expect(log).toEqual(['cork', 'uncork']);
  });
});
