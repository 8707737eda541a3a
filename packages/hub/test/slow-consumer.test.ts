import { describe, expect, it } from 'vitest';
import { createHub } from '../src/index.js';
import { settle, TestPeer } from './support/test-peer.js';

const payload = 'x'.repeat(100);

describe('slow consumers', () => {
  it('drop-with-gap: skips what does not fit, announces the skipped range once there is room, never blocks others', async () => {
    const hub = createHub({ slowConsumer: { maxBufferedBytes: 400, policy: 'drop-with-gap', gapRetryMs: 10_000 } });
    const [slow, fast] = [new TestPeer(), new TestPeer()];
    slow.stalled = true;
    await hub.subscribe(slow, 't');
    await hub.subscribe(fast, 't');
    for (let i = 1; i <= 20; i++) await hub.publish('t', 'e', payload);
    expect(fast.seqs('t')).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const delivered = slow.seqs('t');
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.length).toBeLessThan(20);
    expect(slow.bufferedAmount).toBeLessThanOrEqual(400);
    slow.drain();
    await hub.publish('t', 'e', payload);
    const last = delivered[delivered.length - 1]!;
    expect(slow.frames.slice(delivered.length)).toEqual([
      { t: 'gap', topic: 't', from: last + 1, to: 20 },
      { t: 'msg', type: 'e', topic: 't', seq: 21, data: payload },
    ]);
    await hub.close();
  });

  it('drop-with-gap: announces the gap when the connection drains even if nothing else is published', async () => {
    const hub = createHub({ slowConsumer: { maxBufferedBytes: 200, gapRetryMs: 5 } });
    const slow = new TestPeer();
    await hub.subscribe(slow, 't');
    slow.stalled = true;
    for (let i = 1; i <= 5; i++) await hub.publish('t', 'e', payload);
    expect(slow.seqs('t')).toEqual([1]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(slow.frames.some((f) => f.t === 'gap')).toBe(false);
    slow.drain();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(slow.frames.at(-1)).toEqual({ t: 'gap', topic: 't', from: 2, to: 5 });
    await hub.close();
  });

  it('close: a subscriber that falls behind is closed with 1013 and the others go on', async () => {
    const hub = createHub({ slowConsumer: { maxBufferedBytes: 300, policy: 'close' } });
    const [slow, fast] = [new TestPeer(), new TestPeer()];
    slow.stalled = true;
    await hub.subscribe(slow, 't');
    await hub.subscribe(fast, 't');
    for (let i = 1; i <= 10; i++) await hub.publish('t', 'e', payload);
    expect(slow.closed).toEqual({ code: 1013, reason: 'slow consumer' });
    expect(hub.topicsOf(slow)).toEqual([]);
    expect(fast.seqs('t')).toHaveLength(10);
    await hub.close();
  });

  it('chooses the policy per topic', async () => {
    const hub = createHub({
      slowConsumer: { maxBufferedBytes: 150, policy: (topic) => (topic.startsWith('orders:') ? 'close' : 'drop-with-gap') },
    });
    const peer = new TestPeer();
    peer.stalled = true;
    await hub.subscribe(peer, 'chat');
    await hub.subscribe(peer, 'orders:1');
    for (let i = 0; i < 3; i++) await hub.publish('chat', 'e', payload);
    expect(peer.closed).toBeUndefined();
    for (let i = 0; i < 3; i++) await hub.publish('orders:1', 'e', payload);
    expect(peer.closed?.code).toBe(1013);
    await hub.close();
  });

  it('treats an adapter refusing a frame at its high-water mark like a full buffer', async () => {
    const hub = createHub({ slowConsumer: { gapRetryMs: 10_000 } });
    const peer = new TestPeer();
    let refuse = true;
    const sendPrepared = peer.sendPrepared.bind(peer);
    peer.sendPrepared = (message) => (refuse ? { status: 'dropped', reason: 'high-water-mark', bufferedAmount: 0 } : sendPrepared(message));
    await hub.subscribe(peer, 't');
    await hub.publish('t', 'e', 1);
    await hub.publish('t', 'e', 2);
    refuse = false;
    await hub.publish('t', 'e', 3);
    // The adapter refuses only data frames here, so each refusal is announced before the next try.
    expect(peer.frames).toEqual([
      { t: 'gap', topic: 't', from: 1, to: 1 },
      { t: 'gap', topic: 't', from: 2, to: 2 },
      { t: 'msg', type: 'e', topic: 't', seq: 3, data: 3 },
    ]);
    await hub.close();
  });

  it('bounds what waits during a replay: live messages beyond maxPending become a gap', async () => {
    const hub = createHub({ slowConsumer: { maxPending: 3, gapRetryMs: 10_000 } });
    await hub.publish('t', 'e', 1);
    const peer = new TestPeer();
    hub.handle(peer, { t: 'resume', streams: { t: 0 } });
    // Published before the replay's history read settles: they wait in the bounded buffer.
    const racing = Array.from({ length: 8 }, (_, i) => hub.publish('t', 'e', i + 2));
    await Promise.all(racing);
    await settle();
    await hub.publish('t', 'e', 10);
    const seqs = peer.seqs('t');
    const gap = peer.frames.find((f) => f.t === 'gap');
    // Every seq 1…10 is either delivered once or inside the announced gap.
    const covered = new Set(seqs);
    if (gap && gap.t === 'gap') for (let s = gap.from; s <= gap.to; s++) covered.add(s);
    expect([...covered].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(new Set(seqs).size).toBe(seqs.length);
    await hub.close();
  });
});
