/** Resume points that identify the stream, with the in-process broker. */
import { describe, expect, it } from 'vitest';
import { createHub, MemoryBroker } from '../src/index.js';
import { settle, TestPeer } from './support/test-peer.js';

describe('stream positions', () => {
  it('a subscription starts with the topic’s position, sent before any message and returned by subscribe', async () => {
    const hub = createHub();
    for (let i = 1; i <= 3; i++) await hub.publish('t', 'e', i);
    const peer = new TestPeer();
    const position = await hub.subscribe(peer, 't');
    expect(position).toMatchObject({ topic: 't', seq: 3, epoch: expect.any(String), id: expect.any(String) });
    expect(peer.raw).toEqual([{ t: 'pos', topic: 't', seq: 3, epoch: position!.epoch, id: position!.id }]);
    await hub.publish('t', 'e', 4);
    expect(peer.raw[1]).toMatchObject({ t: 'msg', seq: 4, epoch: position!.epoch });
    // Resuming from the stored position replays exactly what came after it.
    await hub.publish('t', 'e', 5);
    const again = new TestPeer();
    await hub.subscribe(again, 't', { after: position!.seq, epoch: position!.epoch, id: position!.id });
    expect(again.seqs('t')).toEqual([4, 5]);
    await hub.close();
  });

  it('a new process is a new epoch: a seq from the old one is answered with resync, even below the new head', async () => {
    const first = createHub({ broker: new MemoryBroker() });
    const peer = new TestPeer();
    await first.subscribe(peer, 't');
    for (let i = 1; i <= 5; i++) await first.publish('t', 'e', `old-${i}`);
    const last = peer.raw.at(-1) as { seq: number; epoch: string; id: string };
    await first.close();

    const second = createHub({ broker: new MemoryBroker() });
    for (let i = 1; i <= 8; i++) await second.publish('t', 'e', `new-${i}`);
    const back = new TestPeer();
    await second.subscribe(back, 't', { after: last.seq, epoch: last.epoch, id: last.id });
    expect(back.frames).toEqual([{ t: 'resync', topic: 't' }]);
    expect(back.position('t')).toMatchObject({ seq: 8 });
    expect(back.position('t')!.epoch).not.toBe(last.epoch);
    // An older client without epoch keeps the old rule (seq only).
    const legacy = new TestPeer();
    await second.subscribe(legacy, 't', { after: 5 });
    expect(legacy.seqs('t')).toEqual([6, 7, 8]);
    await settle();
    await second.close();
  });
});
