import { describe, expect, it } from 'vitest';
import { createHub, MemoryBroker, type PresenceChange } from '../src/index.js';
import { settle, TestPeer } from './support/test-peer.js';

interface Meta {
  readonly name: string;
  readonly status: 'online' | 'away';
}

describe('presence', () => {
  it('lists members of every node with their typed metadata and reports join, update and leave everywhere', async () => {
    const broker = new MemoryBroker();
    const one = createHub<never, Meta>({ broker, nodeId: 'one' });
    const two = createHub<never, Meta>({ broker, nodeId: 'two' });
    const seen: Array<PresenceChange<Meta>> = [];
    two.on('presence', (change) => seen.push(change));
    const [ann, bob] = [new TestPeer(), new TestPeer()];
    await one.presence.join(ann, 'room', { name: 'ann', status: 'online' });
    await two.presence.join(bob, 'room', { name: 'bob', status: 'online' });
    await one.presence.join(ann, 'room', { name: 'ann', status: 'away' });
    const members = await two.presence.list('room');
    expect(members.map((m) => [m.nodeId, m.meta.name, m.meta.status]).sort()).toEqual([
      ['one', 'ann', 'away'],
      ['two', 'bob', 'online'],
    ]);
    expect(members.find((m) => m.meta.name === 'ann')?.id).toBe(one.attach(ann));
    await one.presence.leave(ann, 'room');
    bob.close(1001, '');
    await settle();
    expect(seen.map((c) => [c.type, c.member.meta.name, c.type === 'leave' ? c.reason : '-'])).toEqual([
      ['join', 'ann', '-'],
      ['join', 'bob', '-'],
      ['update', 'ann', '-'],
      ['leave', 'ann', 'left'],
      ['leave', 'bob', 'disconnected'],
    ]);
    expect(await one.presence.list('room')).toEqual([]);
    await Promise.all([one.close(), two.close()]);
  });

  it('removes a node’s members when the node leaves the broker', async () => {
    const broker = new MemoryBroker();
    const one = createHub<never, Meta>({ broker, nodeId: 'one' });
    const two = createHub<never, Meta>({ broker, nodeId: 'two' });
    const leaves: string[] = [];
    two.on('presence', (change) => {
      if (change.type === 'leave') leaves.push(`${change.member.meta.name}:${change.reason}`);
    });
    await one.presence.join(new TestPeer(), 'room', { name: 'ann', status: 'online' });
    await two.presence.join(new TestPeer(), 'room', { name: 'bob', status: 'online' });
    await one.close();
    expect(leaves).toEqual(['ann:disconnected']);
    expect((await two.presence.list('room')).map((m) => m.meta.name)).toEqual(['bob']);
    await two.close();
  });

  it('a connection that closes while its join is in flight does not stay present', async () => {
    const hub = createHub<never, Meta>();
    const peer = new TestPeer();
    const joining = hub.presence.join(peer, 'room', { name: 'ann', status: 'online' });
    peer.close(1006, '');
    await joining;
    await settle();
    expect(await hub.presence.list('room')).toEqual([]);
    await hub.close();
  });
});
