/**
 * Faults on a real redis-server, judged against the set of acknowledged publishes: a
 * returning client gets exactly what it missed, in order, or an explicit resync — never a
 * replay that skips acknowledged messages as if the stream were continuous.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../src/index.js';
import { RedisBroker } from '../src/redis.js';
import { RedisServer } from './support/redis-server.js';
import { TestPeer, type RawFrame } from './support/test-peer.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(): Promise<{ redis: RedisServer; hub: Hub }> {
  const redis = await RedisServer.start();
  cleanups.push(() => redis.dispose());
  const hub = createHub({
    broker: new RedisBroker({ url: redis.url, redis: { retryStrategy: () => 50 } }),
    nodeId: 'n0',
    history: { maxCount: 1000, maxAgeMs: 600_000 },
  });
  cleanups.push(() => hub.close());
  await hub.ready;
  return { redis, hub };
}

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function upAgain(hub: Hub): Promise<void> {
  await new Promise<void>((resolve) => {
    const off = hub.on('broker', (status) => {
      if (status.state === 'up') {
        off();
        resolve();
      }
    });
  });
}

type Msg = Extract<RawFrame, { t: 'msg' }>;
const messages = (peer: TestPeer, topic: string): Msg[] =>
  peer.raw.filter((f): f is Msg => f.t === 'msg' && f.topic === topic);

/** The client's resume point: its last message (epoch, seq, entry id). */
function resumeText(topic: string, last: Msg): string {
  return JSON.stringify({ t: 'resume', streams: { [topic]: last.seq }, at: { [topic]: { epoch: last.epoch, id: last.id } } });
}

/**
 * Every delivery after a resume is checked: either exactly the acknowledged messages the client
 * missed, in order (by content), or a resync before anything stamped.
 */
function assertNoSilentLoss(peer: TestPeer, topic: string, missed: readonly unknown[]): 'replayed' | 'resync' {
  const frames = peer.raw.filter((f) => f.t !== 'pos');
  if (frames[0]?.t === 'resync') return 'resync';
  const delivered = frames.filter((f): f is Msg => f.t === 'msg' && f.topic === topic).map((f) => f.data);
  expect(frames.every((f) => f.t === 'msg')).toBe(true);
  expect(delivered).toEqual(missed);
  return 'replayed';
}

describe('Redis faults', () => {
  it('Redis restarted empty while the user is offline, on a topic nobody subscribes to: the return is a resync, never a false continuation', async () => {
    const { redis, hub } = await setup();
    const topic = 'user:42';
    const user = new TestPeer();
    await hub.subscribe(user, topic);
    for (let i = 1; i <= 50; i++) await hub.publish(topic, 'e', `old-${i}`);
    await until(() => messages(user, topic).length === 50, 'the first 50');
    const last = messages(user, topic).at(-1)!;
    expect(last).toMatchObject({ seq: 50, epoch: expect.any(String), id: expect.any(String) });
    user.close();

    const back = upAgain(hub);
    await redis.stop();
    await redis.startAgain();
    await back;
    // Acknowledged while the user is away: the new numbering passes 50.
    const acknowledged: string[] = [];
    for (let i = 1; i <= 60; i++) {
      await hub.publish(topic, 'e', `new-${i}`);
      acknowledged.push(`new-${i}`);
    }

    const returning = new TestPeer();
    expect(hub.handle(returning, resumeText(topic, last))).toBe(true);
    await until(() => returning.raw.length >= 2, 'the answer to the resume');
    expect(assertNoSilentLoss(returning, topic, acknowledged)).toBe('resync');
    // And it is told where the stream now stands, in the new epoch.
    expect(returning.position(topic)).toMatchObject({ seq: 60 });
    expect(returning.position(topic)!.epoch).not.toBe(last.epoch);
    await hub.publish(topic, 'e', 'live');
    await until(() => messages(returning, topic).length === 1, 'live after the resync');
    expect(messages(returning, topic)[0]).toMatchObject({ seq: 61, data: 'live' });
  }, 30_000);

  it('Redis restarted from an older RDB snapshot: clients past the snapshot and clients before it both get resync, never reused seqs', async () => {
    const { redis, hub } = await setup();
    const topic = 'user:7';
    const early = new TestPeer();
    const late = new TestPeer();
    await hub.subscribe(early, topic);
    await hub.subscribe(late, topic);
    for (let i = 1; i <= 10; i++) await hub.publish(topic, 'e', `a-${i}`);
    await until(() => messages(early, topic).length === 10, 'the first 10');
    early.close();
    const earlyLast = messages(early, topic).at(-1)!;

    const admin = new Redis(redis.url);
    await admin.save();
    await admin.quit();
    const snapshot = join(redis.dir, 'snapshot.rdb');
    expect(existsSync(join(redis.dir, 'dump.rdb'))).toBe(true);
    copyFileSync(join(redis.dir, 'dump.rdb'), snapshot);
    // Acknowledged after the snapshot: the rollback loses these.
    const lost: string[] = [];
    for (let i = 11; i <= 20; i++) {
      await hub.publish(topic, 'e', `a-${i}`);
      lost.push(`a-${i}`);
    }
    await until(() => messages(late, topic).length === 20, 'all 20');
    late.close();
    const lateLast = messages(late, topic).at(-1)!;

    const back = upAgain(hub);
    await redis.stop();
    copyFileSync(snapshot, join(redis.dir, 'dump.rdb'));
    await redis.startAgain();
    await back;
    const after: string[] = [];
    for (let i = 1; i <= 15; i++) {
      const published = await hub.publish(topic, 'e', `b-${i}`);
      after.push(`b-${i}`);
      expect(published.seq).toBe(10 + i);
    }

    // Saw 1..20: seqs 11..20 now name other messages.
    const lateBack = new TestPeer();
    hub.handle(lateBack, resumeText(topic, lateLast));
    await until(() => lateBack.raw.length >= 2, 'the late client’s answer');
    expect(assertNoSilentLoss(lateBack, topic, after.slice(10))).toBe('resync');

    // Saw 1..10, which survived; but 11..20 were acknowledged and are gone.
    const earlyBack = new TestPeer();
    hub.handle(earlyBack, resumeText(topic, earlyLast));
    await until(() => earlyBack.raw.length >= 2, 'the early client’s answer');
    expect(assertNoSilentLoss(earlyBack, topic, [...lost, ...after])).toBe('resync');
  }, 30_000);

  it('without a fault a resume replays exactly the missed range; an entry id that is not the stream’s gets resync', async () => {
    const { hub } = await setup();
    const topic = 'user:9';
    const user = new TestPeer();
    await hub.subscribe(user, topic);
    for (let i = 1; i <= 5; i++) await hub.publish(topic, 'e', i);
    await until(() => messages(user, topic).length === 5, 'five');
    user.close();
    const last = messages(user, topic).at(-1)!;
    const missed: number[] = [];
    for (let i = 6; i <= 9; i++) {
      await hub.publish(topic, 'e', i);
      missed.push(i);
    }
    const back = new TestPeer();
    hub.handle(back, resumeText(topic, last));
    await until(() => messages(back, topic).length === 4, 'the replay');
    expect(assertNoSilentLoss(back, topic, missed)).toBe('replayed');
    // A forged id for a seq that exists is not this stream's entry: resync.
    const forged = new TestPeer();
    hub.handle(forged, resumeText(topic, { ...last, id: '1-0' }));
    await until(() => forged.raw.length >= 1, 'the answer');
    expect(forged.raw[0]).toEqual({ t: 'resync', topic });
  }, 30_000);
});
