/**
 * Replay racing live publishes, made to happen deterministically: a broker double holds the
 * history read open while live entries arrive, then lets it answer. Deleting the hold
 * (`Subscription.offer` while replaying) fails both tests; deleting the dedupe by seq in
 * `Subscription.#deliver` fails the first.
 */
import { describe, expect, it } from 'vitest';
import { createHub, MemoryBroker, type Broker, type BrokerSession } from '../src/index.js';
import { settle, TestPeer } from './support/test-peer.js';

/** A MemoryBroker whose `readAfter` waits for `release()` while `hold` is set. */
class HeldReads implements Broker {
  readonly #inner = new MemoryBroker();
  hold = false;
  held = 0;
  #gates: Array<() => void> = [];

  async connect(context: Parameters<Broker['connect']>[0]): Promise<BrokerSession> {
    const session = await this.#inner.connect(context);
    return {
      ...session,
      readAfter: async (topic, after) => {
        if (this.hold) {
          this.held++;
          await new Promise<void>((resolve) => this.#gates.push(resolve));
        }
        // Read when released: the answer includes what was published during the hold.
        return session.readAfter(topic, after);
      },
    };
  }

  release(): void {
    const gates = this.#gates;
    this.#gates = [];
    for (const gate of gates) gate();
  }
}

describe('replay with live publishes during the history read', () => {
  it('holds live entries until the replay is written, drops those the replay covered: in order, no duplicate', async () => {
    const broker = new HeldReads();
    const hub = createHub({ broker, history: { maxCount: 100, maxAgeMs: 60_000 } });
    const watcher = new TestPeer();
    await hub.subscribe(watcher, 't');
    for (let i = 1; i <= 3; i++) await hub.publish('t', 'e', i);

    broker.hold = true;
    const returning = new TestPeer();
    const subscribed = hub.subscribe(returning, 't', { after: 1 });
    await settle();
    expect(broker.held).toBe(1);
    // Live while the read is open: they reach the subscription before the replay does.
    for (let i = 4; i <= 6; i++) await hub.publish('t', 'e', i);
    await settle();
    expect(returning.seqs('t')).toEqual([]);
    broker.hold = false;
    broker.release();
    await subscribed;
    await hub.publish('t', 'e', 7);
    // The read (made after 4…6 were published) replays 2…6; the held live 4…6 are dropped as duplicates.
    expect(returning.seqs('t')).toEqual([2, 3, 4, 5, 6, 7]);
    expect(returning.frames.filter((f) => f.t !== 'msg')).toEqual([]);
    expect(watcher.seqs('t')).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await hub.close();
  });

  it('a read answered before the live entries arrive: the held ones follow the replay, none lost', async () => {
    let answered: (() => void) | undefined;
    const inner = new MemoryBroker();
    const broker: Broker = {
      connect: async (context) => {
        const session = await inner.connect(context);
        return {
          ...session,
          // Reads now, answers later: entries published meanwhile are not in the answer.
          readAfter: async (topic, after) => {
            const read = await session.readAfter(topic, after);
            if (after === Number.MAX_SAFE_INTEGER) return read;
            await new Promise<void>((resolve) => (answered = resolve));
            return read;
          },
        };
      },
    };
    const hub = createHub({ broker, history: { maxCount: 100, maxAgeMs: 60_000 } });
    for (let i = 1; i <= 3; i++) await hub.publish('t', 'e', i);
    const returning = new TestPeer();
    const subscribed = hub.subscribe(returning, 't', { after: 1 });
    await settle();
    expect(answered).toBeDefined();
    for (let i = 4; i <= 6; i++) await hub.publish('t', 'e', i);
    answered!();
    await subscribed;
    expect(returning.seqs('t')).toEqual([2, 3, 4, 5, 6]);
    await hub.close();
  });
});

describe('replay paced by backpressure', () => {
  it('a backlog larger than the slow-consumer bound reaches a client that reads, completely, with live entries beyond the hold fetched from history', async () => {
    const hub = createHub({
      history: { maxCount: 1000, maxAgeMs: 60_000 },
      slowConsumer: { maxBufferedBytes: 2_000, maxPending: 5, gapRetryMs: 10_000 },
    });
    const payload = 'x'.repeat(200);
    for (let i = 1; i <= 100; i++) await hub.publish('t', 'e', payload);
    const peer = new TestPeer();
    peer.stalled = true;
    // The client reads slowly: its buffer drains every few ms.
    const reader = setInterval(() => peer.drain(), 3);
    const subscribed = hub.subscribe(peer, 't', { after: 0 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Live publishes while the backlog is paced out: more than the hold keeps.
    expect(peer.seqs('t').length).toBeLessThan(100);
    for (let i = 101; i <= 120; i++) await hub.publish('t', 'e', payload);
    await subscribed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    clearInterval(reader);
    expect(peer.seqs('t')).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect(peer.frames.filter((f) => f.t !== 'msg')).toEqual([]);
    await hub.close();
  });
});
