import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Broker, BrokerContext, BrokerSession } from '../src/broker.js';
import { createHub, MemoryBroker, type Hub } from '../src/index.js';
import { settle, TestPeer } from './support/test-peer.js';

/** A broker that loses some live deliveries to a node, as Redis pub/sub does across a reconnect. */
class LossyBroker implements Broker {
  constructor(
    private readonly inner: Broker,
    private readonly lose: (nodeId: string, seq: number) => boolean,
  ) {}

  connect(context: BrokerContext): Promise<BrokerSession> {
    return this.inner.connect({
      ...context,
      onEntry: (entry) => {
        if (!this.lose(context.nodeId, entry.seq)) context.onEntry(entry);
      },
      now: () => context.now(),
      onPresence: (change) => context.onPresence(change),
      onStatus: (status) => context.onStatus(status),
    });
  }
}

const contiguous = (seqs: number[], first: number, last: number): boolean =>
  seqs.length === last - first + 1 && seqs.every((seq, i) => seq === first + i);

describe('ordering', () => {
  it('gives every subscriber on every node the same contiguous order per topic, whoever publishes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ node: fc.nat(3), topic: fc.constantFrom('a', 'b'), wait: fc.boolean() }), { minLength: 1, maxLength: 60 }),
        async (nodeCount, schedule) => {
          const broker = new MemoryBroker();
          const hubs = Array.from({ length: nodeCount }, (_, i) => createHub({ broker, nodeId: `n${i}` }));
          const peers = hubs.flatMap((hub) => [new TestPeer(), new TestPeer()].map((peer) => ({ hub, peer })));
          for (const { hub, peer } of peers) {
            await hub.subscribe(peer, 'a');
            await hub.subscribe(peer, 'b');
          }
          const inFlight: Array<Promise<unknown>> = [];
          for (const step of schedule) {
            const publish = hubs[step.node % nodeCount]!.publish(step.topic, 'e', step.node);
            if (step.wait) await publish;
            else inFlight.push(publish);
          }
          await Promise.all(inFlight);
          const counts = { a: schedule.filter((s) => s.topic === 'a').length, b: schedule.filter((s) => s.topic === 'b').length };
          const reference = peers[0]!.peer.texts;
          for (const { peer } of peers) {
            expect(contiguous(peer.seqs('a'), 1, counts.a)).toBe(true);
            expect(contiguous(peer.seqs('b'), 1, counts.b)).toBe(true);
            expect(peer.texts).toEqual(reference);
          }
          await Promise.all(hubs.map((hub) => hub.close()));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('recovers live entries a node missed from history, so its subscribers see no gap', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 30 }), async (losses, publishes) => {
        const lost = new Set<number>();
        const broker = new LossyBroker(new MemoryBroker(), (nodeId, seq) => {
          const drop = nodeId === 'far' && (losses[seq % losses.length] ?? false);
          if (drop) lost.add(seq);
          return drop;
        });
        const near = createHub({ broker, nodeId: 'near' });
        const far = createHub({ broker, nodeId: 'far' });
        const [p1, p2] = [new TestPeer(), new TestPeer()];
        await far.subscribe(p1, 't');
        await far.subscribe(p2, 't');
        for (let i = 0; i < publishes; i++) await near.publish('t', 'e', i);
        await settle(10);
        // The first entry the node ever sees is its starting point; a loss after it is repaired
        // as soon as a later entry shows the jump (a loss at the very end shows only then).
        const seqs = p1.seqs('t');
        const first = seqs[0];
        let lastArrived = publishes;
        while (lost.has(lastArrived)) lastArrived--;
        if (first !== undefined) expect(contiguous(seqs, first, lastArrived)).toBe(true);
        else expect(lastArrived).toBe(0);
        expect(p2.seqs('t')).toEqual(seqs);
        expect(p1.frames.filter((f) => f.t !== 'msg')).toEqual([]);
        await Promise.all([near.close(), far.close()]);
      }),
      { numRuns: 60 },
    );
  });
});

describe('replay', () => {
  async function resumeScenario(options: { before: number; seen: number; during: number; maxCount: number }): Promise<TestPeer> {
    const hub: Hub = createHub({ history: { maxCount: options.maxCount, maxAgeMs: 60_000 } });
    for (let i = 1; i <= options.before; i++) await hub.publish('t', 'e', i);
    const peer = new TestPeer();
    expect(hub.handle(peer, JSON.stringify({ t: 'resume', streams: { t: options.seen } }))).toBe(true);
    // Live publishes race the history read.
    await Promise.all(Array.from({ length: options.during }, (_, i) => hub.publish('t', 'e', options.before + i + 1)));
    await settle(10);
    await hub.close();
    return peer;
  }

  it('replays exactly the missed range, then live, with no gap and no duplicate — or says resync', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 50 }),
        async (before, seenRaw, during, maxCount) => {
          const seen = Math.min(seenRaw, before);
          const peer = await resumeScenario({ before, seen, during, maxCount });
          const total = before + during;
          const resynced = peer.frames.some((f) => f.t === 'resync');
          const seqs = peer.seqs('t');
          expect(peer.frames.filter((f) => f.t === 'gap')).toEqual([]);
          // Entry seen + 1 still retained even after every racing publish: replay is certain.
          if (total - maxCount < seen + 1) expect(resynced).toBe(false);
          // Entry seen + 1 was gone before the resume: resync is certain.
          if (before - maxCount >= seen + 1) expect(resynced).toBe(true);
          if (resynced) {
            expect(peer.frames[0]).toEqual({ t: 'resync', topic: 't' });
            if (seqs.length > 0) expect(contiguous(seqs, seqs[0]!, total)).toBe(true);
          } else {
            expect(contiguous(seqs, seen + 1, total)).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('resyncs a client that was away longer than the history keeps, and replays a shorter absence exactly', async () => {
    let clock = 1_000_000;
    const hub = createHub({ history: { maxCount: 1000, maxAgeMs: 10 * 60_000 }, now: () => clock });
    for (let i = 1; i <= 5; i++) await hub.publish('t', 'e', i);
    clock += 5 * 60_000;
    const short = new TestPeer();
    hub.handle(short, { t: 'resume', streams: { t: 3 } });
    await settle();
    expect(short.seqs('t')).toEqual([4, 5]);
    clock += 2 * 3600_000;
    const long = new TestPeer();
    hub.handle(long, { t: 'resume', streams: { t: 3 } });
    await settle();
    expect(long.frames).toEqual([{ t: 'resync', topic: 't' }]);
    await hub.publish('t', 'e', 6);
    expect(long.seqs('t')).toEqual([6]);
    expect(short.seqs('t')).toEqual([4, 5, 6]);
    await hub.close();
  });

  it('resyncs a client whose seq is beyond the head (numbering from another process lifetime)', async () => {
    const hub = createHub();
    await hub.publish('t', 'e', 1);
    const peer = new TestPeer();
    hub.handle(peer, { t: 'resume', streams: { t: 500 } });
    await settle();
    await hub.publish('t', 'e', 2);
    expect(peer.frames).toEqual([{ t: 'resync', topic: 't' }, { t: 'msg', type: 'e', topic: 't', seq: 2, data: 2 }]);
    await hub.close();
  });

  it('resuming at the head replays nothing and continues live', async () => {
    const hub = createHub();
    for (let i = 1; i <= 3; i++) await hub.publish('t', 'e', i);
    const peer = new TestPeer();
    hub.handle(peer, { t: 'resume', streams: { t: 3 } });
    await settle();
    await hub.publish('t', 'e', 4);
    expect(peer.frames).toEqual([{ t: 'msg', type: 'e', topic: 't', seq: 4, data: 4 }]);
    await hub.close();
  });

  it('serves the same rule to other transports through history()', async () => {
    let clock = 0;
    const hub = createHub({ history: { maxCount: 3, maxAgeMs: 1000 }, now: () => clock });
    for (let i = 1; i <= 5; i++) await hub.publish('t', 'e', { n: i });
    expect(await hub.history('t', 3)).toMatchObject({
      kind: 'messages',
      head: 5,
      messages: [
        { seq: 4, type: 'e', data: { n: 4 }, publishedAt: 0 },
        { seq: 5, type: 'e', data: { n: 5 }, publishedAt: 0 },
      ],
    });
    expect(await hub.history('t', 5)).toMatchObject({ kind: 'messages', head: 5, messages: [] });
    expect(await hub.history('t', 1)).toMatchObject({ kind: 'resync', head: 5 });
    clock = 5000;
    expect(await hub.history('t', 4)).toMatchObject({ kind: 'resync', head: 5 });
    await expect(hub.history('t', -1)).rejects.toBeInstanceOf(RangeError);
    await hub.close();
  });
});
