/**
 * The Redis broker against a real redis-server, with hubs in this process (each its own
 * node with its own connections). Multi-process behaviour is in interop/redis-nodes.test.ts.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerUnavailableError, createHub, type BrokerStatus, type Hub, type PresenceChange } from '../src/index.js';
import { RedisBroker } from '../src/redis.js';
import { RedisServer } from './support/redis-server.js';
import { settle, TestPeer } from './support/test-peer.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  await redis.dispose();
});

const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
  await redis.ensureRunning();
});

let prefixCounter = 0;
async function nodes(
  count: number,
  options: { now?: () => number; maxCount?: number; maxAgeMs?: number; presenceTtlMs?: number; retryMs?: number } = {},
): Promise<Hub[]> {
  const prefix = `t${prefixCounter++}:`;
  const created = Array.from({ length: count }, (_, i) =>
    createHub({
      broker: new RedisBroker({ url: redis.url, prefix, redis: { retryStrategy: () => options.retryMs ?? 50 } }),
      nodeId: `node${i}`,
      history: { maxCount: options.maxCount ?? 1000, maxAgeMs: options.maxAgeMs ?? 600_000 },
      presenceTtlMs: options.presenceTtlMs ?? 30_000,
      ...(options.now ? { now: options.now } : {}),
    }),
  );
  hubs.push(...created);
  await Promise.all(created.map((hub) => hub.ready));
  return created;
}

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('RedisBroker', () => {
  it('gives subscribers on every node one order per topic while all nodes publish concurrently', async () => {
    const [a, b, c] = await nodes(3);
    const peers = [a!, b!, c!].flatMap((hub) => [new TestPeer(), new TestPeer()].map((peer) => ({ hub, peer })));
    for (const { hub, peer } of peers) await hub.subscribe(peer, 'room');
    const publishes = [];
    for (let i = 0; i < 60; i++) publishes.push([a!, b!, c!][i % 3]!.publish('room', 'e', i));
    const seqs = (await Promise.all(publishes)).map((p) => p.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    await until(() => peers.every(({ peer }) => peer.frames.length === 60), 'every delivery');
    const reference = peers[0]!.peer.frames;
    for (const { peer } of peers) {
      expect(peer.seqs('room')).toEqual(seqs);
      expect(peer.frames).toEqual(reference);
    }
  }, 20_000);

  it('publishes except the sender across nodes: only the sender’s node writes it a skip, in its place; history keeps whom it was for', async () => {
    const [a, b] = await nodes(2);
    const [sender, neighbour, remote] = [new TestPeer(), new TestPeer(), new TestPeer()];
    await a!.subscribe(sender, 'room');
    await a!.subscribe(neighbour, 'room');
    await b!.subscribe(remote, 'room');
    await b!.publish('room', 'e', 1);
    await a!.publish('room', 'e', 2, { except: sender });
    await b!.publish('room', 'e', 3);
    await until(() => [sender, neighbour, remote].every((peer) => peer.frames.length === 3), 'every delivery');
    expect(sender.frames.map((f) => f.t)).toEqual(['msg', 'skip', 'msg']);
    expect(sender.frames[1]).toEqual({ t: 'skip', topic: 'room', seq: 2 });
    expect(neighbour.seqs('room')).toEqual([1, 2, 3]);
    expect(remote.seqs('room')).toEqual([1, 2, 3]);
    // Read back from the stream, the entry still names the connection it was not for.
    a!.unsubscribe(sender, 'room');
    await a!.subscribe(sender, 'room', { after: 1 });
    expect(sender.frames.slice(3).map((f) => f.t)).toEqual(['skip', 'msg']);
  }, 20_000);

  it('replays exactly the missed range from the stream, resyncs beyond count or age', async () => {
    let clock = 1_000_000;
    const [a, b] = await nodes(2, { now: () => clock, maxCount: 5, maxAgeMs: 10 * 60_000 });
    for (let i = 1; i <= 8; i++) await a!.publish('t', 'e', i);
    const near = new TestPeer();
    b!.handle(near, { t: 'resume', streams: { t: 4 } });
    const far = new TestPeer();
    b!.handle(far, { t: 'resume', streams: { t: 2 } });
    const ahead = new TestPeer();
    b!.handle(ahead, { t: 'resume', streams: { t: 99 } });
    await until(() => near.frames.length === 4 && far.frames.length === 1 && ahead.frames.length === 1, 'replies');
    expect(near.seqs('t')).toEqual([5, 6, 7, 8]);
    expect(far.frames).toEqual([{ t: 'resync', topic: 't' }]);
    expect(ahead.frames).toEqual([{ t: 'resync', topic: 't' }]);
    clock += 2 * 3600_000;
    const late = new TestPeer();
    b!.handle(late, { t: 'resume', streams: { t: 7 } });
    await until(() => late.frames.length === 1, 'resync after two hours');
    expect(late.frames).toEqual([{ t: 'resync', topic: 't' }]);
    await a!.publish('t', 'e', 9);
    await until(() => late.frames.length === 2 && near.frames.length === 5, 'live after resume');
    expect(late.seqs('t')).toEqual([9]);
    expect(near.seqs('t')).toEqual([5, 6, 7, 8, 9]);
  }, 20_000);

  it('replays while live messages race the history read: no gap, no duplicate', async () => {
    const [a, b] = await nodes(2);
    for (let i = 1; i <= 20; i++) await a!.publish('t', 'e', i);
    const peer = new TestPeer();
    b!.handle(peer, { t: 'resume', streams: { t: 10 } });
    const racing = Array.from({ length: 30 }, (_, i) => a!.publish('t', 'e', 21 + i));
    await Promise.all(racing);
    await until(() => peer.frames.length >= 40, 'replay and live');
    await settle();
    expect(peer.seqs('t')).toEqual(Array.from({ length: 40 }, (_, i) => 11 + i));
  }, 20_000);

  it('shares presence across nodes with join, update and leave events', async () => {
    const [a, b] = await nodes(2) as unknown as Array<Hub<never, { name: string }>>;
    const changes: Array<PresenceChange<{ name: string }>> = [];
    b!.on('presence', (change) => changes.push(change));
    const ann = new TestPeer();
    await a!.presence.join(ann, 'room', { name: 'ann' });
    await a!.presence.join(ann, 'room', { name: 'ann!' });
    await until(() => changes.length === 2, 'join and update');
    expect((await b!.presence.list('room')).map((m) => [m.nodeId, m.meta.name])).toEqual([['node0', 'ann!']]);
    ann.close(1000, '');
    await until(() => changes.length === 3, 'leave');
    expect(changes.map((c) => (c.type === 'leave' ? `leave:${c.reason}` : c.type))).toEqual(['join', 'update', 'leave:disconnected']);
    expect(await b!.presence.list('room')).toEqual([]);
  }, 20_000);

  it('while Redis is down publishes fail with a typed error; after it returns publishing resumes and subscribers are told (resync)', async () => {
    const [a, b] = await nodes(2);
    const statuses: BrokerStatus[] = [];
    const publisherStatuses: BrokerStatus[] = [];
    b!.on('broker', (status) => statuses.push(status));
    a!.on('broker', (status) => publisherStatuses.push(status));
    const peer = new TestPeer();
    await b!.subscribe(peer, 'room');
    for (let i = 1; i <= 3; i++) await a!.publish('room', 'e', i);
    await until(() => peer.frames.length === 3, 'first three');

    await redis.stop();
    await until(() => [statuses, publisherStatuses].every((list) => list.some((s) => s.state === 'down')), 'both nodes to see Redis down');
    const failure = await a!.publish('room', 'e', 'lost').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BrokerUnavailableError);
    // The node knew Redis was down before publishing: the command was never sent.
    expect(failure).toMatchObject({ code: 'broker-unavailable', outcome: 'not-sent' });

    await redis.startAgain();
    await until(() => [statuses, publisherStatuses].every((list) => list.some((s) => s.state === 'up' && s.resumed)), 'up again', 10_000);
    await until(() => peer.frames.some((f) => f.t === 'resync'), 'the resync');
    // Redis lost its data (no persistence): numbering goes on above what clients saw.
    const next = await a!.publish('room', 'e', 4);
    expect(next.seq).toBe(4);
    await until(() => peer.seqs('room').length === 4, 'the live message after the restart');
    expect(peer.frames).toEqual([
      ...[1, 2, 3].map((seq) => ({ t: 'msg', type: 'e', topic: 'room', seq, data: seq })),
      { t: 'resync', topic: 'room' },
      { t: 'msg', type: 'e', topic: 'room', seq: 4, data: 4 },
    ]);
  }, 20_000);

  it('a node whose subscription connection dropped fetches what it missed from the stream: in order, no resync', async () => {
    const [a, b] = await nodes(2, { retryMs: 300 });
    const statuses: BrokerStatus[] = [];
    b!.on('broker', (status) => statuses.push(status));
    const peer = new TestPeer();
    await b!.subscribe(peer, 'room');
    for (let i = 1; i <= 3; i++) await a!.publish('room', 'e', i);
    await until(() => peer.frames.length === 3, 'first three');
    const admin = new Redis(redis.url);
    try {
      const clients = (await admin.client('LIST')) as string;
      const line = clients.split('\n').find((l) => l.includes('name=switchyard-hub-sub-node1'));
      const id = /id=(\d+)/.exec(line ?? '')?.[1];
      expect(id).toBeDefined();
      await admin.client('KILL', 'ID', id!);
    } finally {
      admin.disconnect();
    }
    await until(() => statuses.some((s) => s.state === 'down'), 'node b to notice');
    // Published while node b has no subscription: pub/sub drops these for b.
    for (let i = 4; i <= 12; i++) await a!.publish('room', 'e', i);
    await until(() => statuses.some((s) => s.state === 'up' && s.resumed), 'node b back', 10_000);
    expect(statuses.find((s) => s.state === 'up')).toEqual({ state: 'up', resumed: true, dataLost: false });
    await a!.publish('room', 'e', 13);
    await until(() => peer.seqs('room').length === 13, 'the missed and the live');
    expect(peer.seqs('room')).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(peer.frames.filter((f) => f.t !== 'msg')).toEqual([]);
  }, 20_000);

  it('a hub whose Redis cannot be reached at start fails its calls with the typed error', async () => {
    const { freePort } = await import('./support/redis-server.js');
    const hub = createHub({ broker: new RedisBroker({ url: `redis://127.0.0.1:${await freePort()}`, redis: { retryStrategy: () => null } }) });
    await expect(hub.ready).rejects.toBeInstanceOf(BrokerUnavailableError);
    await expect(hub.publish('t', 'e', 1)).rejects.toMatchObject({ code: 'broker-unavailable' });
    await expect(hub.subscribe(new TestPeer(), 't')).rejects.toMatchObject({ code: 'broker-unavailable' });
    await hub.close();
  });

  it('a node that stops (no leave, no heartbeat) has its presence reaped by the others after the TTL', async () => {
    const prefix = `t${prefixCounter++}:`;
    const dying = createHub<never, { name: string }>({
      broker: new RedisBroker({ url: redis.url, prefix, redis: { retryStrategy: () => null } }),
      nodeId: 'dying',
      presenceTtlMs: 300,
    });
    const survivor = createHub<never, { name: string }>({
      broker: new RedisBroker({ url: redis.url, prefix }),
      nodeId: 'survivor',
      presenceTtlMs: 300,
    });
    hubs.push(dying as unknown as Hub, survivor as unknown as Hub);
    await Promise.all([dying.ready, survivor.ready]);
    const changes: string[] = [];
    survivor.on('presence', (c) => changes.push(`${c.type}:${c.member.meta.name}${c.type === 'leave' ? `:${c.reason}` : ''}`));
    await dying.presence.join(new TestPeer(), 'room', { name: 'ann' });
    await survivor.presence.join(new TestPeer(), 'room', { name: 'bob' });
    await until(() => changes.length === 2, 'both joins');
    // Cut the dying node off Redis for good: it can neither leave nor refresh.
    const admin = new Redis(redis.url);
    try {
      const clients = (await admin.client('LIST')) as string;
      for (const line of clients.split('\n').filter((l) => /name=switchyard-hub(-sub)?-dying /.test(`${l} `))) {
        await admin.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
      }
    } finally {
      admin.disconnect();
    }
    await until(() => changes.includes('leave:ann:expired'), 'the expiry', 5000);
    expect((await survivor.presence.list('room')).map((m) => m.meta.name)).toEqual(['bob']);
  }, 20_000);

  it('a node whose heartbeat lapsed while it was still running puts its members back', async () => {
    const [a, b] = (await nodes(2, { presenceTtlMs: 300 })) as unknown as Array<Hub<never, { name: string }>>;
    const changes: string[] = [];
    b!.on('presence', (c) => changes.push(`${c.type}:${c.member.meta.name}${c.type === 'leave' ? `:${c.reason}` : ''}`));
    await a!.presence.join(new TestPeer(), 'room', { name: 'ann' });
    await until(() => changes.length === 1, 'the join');
    // As if node0 had stalled longer than the TTL and another node had reaped it: heartbeat
    // and membership gone at once.
    const admin = new Redis(redis.url);
    try {
      const [heartbeat] = await admin.keys('*presence:node:node0');
      const [hash] = await admin.keys('*{room}:pm');
      const [id] = await admin.hkeys(hash!);
      await admin.multi().del(heartbeat!).del(`${heartbeat!}:members`).hdel(hash!, id!).exec();
    } finally {
      admin.disconnect();
    }
    await until(() => changes.length === 2, 'ann to be put back', 5000);
    expect(changes).toEqual(['join:ann', 'join:ann']);
    expect((await b!.presence.list('room')).map((m) => m.meta.name)).toEqual(['ann']);
  }, 20_000);

  it('keeps delivering when a topic’s last subscriber leaves and new ones arrive at once (channel churn)', async () => {
    const [a, b] = await nodes(2);
    for (let round = 0; round < 5; round++) {
      const leaving = Array.from({ length: 20 }, () => new TestPeer());
      await Promise.all(leaving.map((peer) => b!.subscribe(peer, 'churn')));
      const arriving = Array.from({ length: 20 }, () => new TestPeer());
      // The old subscribers go and the new ones come in the same tick, both orders.
      const subscribed = arriving.map((peer) => b!.subscribe(peer, 'churn'));
      for (const peer of leaving) peer.close(1000, '');
      await Promise.all(subscribed);
      const { seq } = await a!.publish('churn', 'e', round);
      await until(() => arriving.every((peer) => peer.seqs('churn').includes(seq)), `round ${round} delivered`);
      for (const peer of arriving) peer.close(1000, '');
      await settle();
      const later = Array.from({ length: 5 }, () => new TestPeer());
      await Promise.all(later.map((peer) => b!.subscribe(peer, 'churn')));
      const next = await a!.publish('churn', 'e', `after ${round}`);
      await until(() => later.every((peer) => peer.seqs('churn').includes(next.seq)), `round ${round}: subscribers after a full unsubscribe`);
      for (const peer of later) peer.close(1000, '');
      await settle();
    }
  }, 20_000);

  it('a subscriber that leaves while its topic’s subscription is still on its way does not leave the next one deaf', async () => {
    const [a, b] = await nodes(2);
    for (let round = 0; round < 5; round++) {
      const early = new TestPeer();
      const pending = b!.subscribe(early, `race${round}`);
      early.close(1000, '');
      const late = new TestPeer();
      await Promise.all([pending, b!.subscribe(late, `race${round}`)]);
      const { seq } = await a!.publish(`race${round}`, 'e', round);
      await until(() => late.seqs(`race${round}`).includes(seq), `round ${round} delivered`);
    }
  }, 20_000);
});
