import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHub } from '../src/index.js';
import { settle, TestPeer } from './support/test-peer.js';

type Step =
  | { readonly op: 'subscribe'; readonly peer: number; readonly topic: string }
  | { readonly op: 'unsubscribe'; readonly peer: number; readonly topic: string }
  | { readonly op: 'close'; readonly peer: number }
  | { readonly op: 'publish'; readonly topic: string };

const topic = fc.constantFrom('a', 'b', 'c');
const peer = fc.nat(4);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('subscribe' as const), peer, topic }),
  fc.record({ op: fc.constant('unsubscribe' as const), peer, topic }),
  fc.record({ op: fc.constant('close' as const), peer }),
  fc.record({ op: fc.constant('publish' as const), topic }),
);

describe('connection lifecycle', () => {
  it('matches a model of who is subscribed: unsubscribe and close stop delivery and leave nothing behind', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 60 }), async (steps) => {
        const hub = createHub();
        const peers = Array.from({ length: 5 }, () => new TestPeer());
        // As an adapter's `connection` handler does, before anything can close.
        for (const p of peers) hub.attach(p);
        const model = new Map<number, Set<string>>(peers.map((_, i) => [i, new Set()]));
        const closed = new Set<number>();
        const expected = peers.map(() => [] as string[]);
        for (const s of steps) {
          if (s.op === 'subscribe') {
            await hub.subscribe(peers[s.peer]!, s.topic);
            if (!closed.has(s.peer)) model.get(s.peer)!.add(s.topic);
          } else if (s.op === 'unsubscribe') {
            hub.unsubscribe(peers[s.peer]!, s.topic);
            model.get(s.peer)!.delete(s.topic);
          } else if (s.op === 'close') {
            peers[s.peer]!.close(1000, '');
            closed.add(s.peer);
            model.get(s.peer)!.clear();
          } else {
            const { seq } = await hub.publish(s.topic, 'e', null);
            for (const [i, topics] of model) if (topics.has(s.topic)) expected[i]!.push(`${s.topic}${seq}`);
          }
          for (const name of ['a', 'b', 'c']) {
            expect(hub.localSubscriberCount(name)).toBe([...model.values()].filter((t) => t.has(name)).length);
          }
        }
        await settle();
        peers.forEach((p, i) => {
          expect(p.frames.map((f) => (f.t === 'msg' ? `${f.topic}${f.seq}` : f.t))).toEqual(expected[i]);
          expect(hub.topicsOf(p).sort()).toEqual([...model.get(i)!].sort());
        });
        await hub.close();
      }),
      { numRuns: 100 },
    );
  });

  it('cleans up a connection that closed before the hub first saw it, at its first delivery', async () => {
    const hub = createHub();
    const peer = new TestPeer();
    peer.close(1006, '');
    await hub.subscribe(peer, 't');
    await hub.publish('t', 'e', 1);
    expect(hub.localSubscriberCount('t')).toBe(0);
    expect(hub.topicsOf(peer)).toEqual([]);
    await hub.subscribe(peer, 't');
    expect(hub.localSubscriberCount('t')).toBe(0);
    await hub.close();
  });

  it('never lets a stalled subscriber hold more than the bound plus one frame, whatever is published', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 200, max: 5000 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 80 }),
        fc.array(fc.boolean(), { maxLength: 80 }),
        async (bound, sizes, drains) => {
          const hub = createHub({ slowConsumer: { maxBufferedBytes: bound, gapRetryMs: 10_000 } });
          const [slow, fast] = [new TestPeer(), new TestPeer()];
          slow.stalled = true;
          await hub.subscribe(slow, 't');
          await hub.subscribe(fast, 't');
          for (const [i, size] of sizes.entries()) {
            await hub.publish('t', 'e', 'x'.repeat(size));
            // At most one frame (the largest so far) may sit on top of the bound.
            const frame = Math.max(...fast.prepared.map((p) => p.byteLength));
            const gapFrames = slow.frames.filter((f) => f.t === 'gap').length * 64;
            expect(slow.bufferedAmount).toBeLessThanOrEqual(bound + frame + gapFrames);
            if (drains[i]) slow.drain();
          }
          // The fast subscriber got everything; the slow one got a subset, each seq once, and
          // every skipped seq lies in a gap it was told about (or will be, once it drains).
          expect(fast.seqs('t')).toEqual(sizes.map((_, i) => i + 1));
          const got = slow.seqs('t');
          expect(new Set(got).size).toBe(got.length);
          expect(got).toEqual([...got].sort((a, b) => a - b));
          slow.drain();
          await hub.publish('t', 'e', 'end');
          const covered = new Set(slow.seqs('t'));
          for (const f of slow.frames) if (f.t === 'gap') for (let s = f.from; s <= f.to; s++) covered.add(s);
          expect(covered.size).toBe(sizes.length + 1);
          await hub.close();
        },
      ),
      { numRuns: 100 },
    );
  });
});
