// REDIS_URL: two chat instances on two ports share rooms, presence and history through one
// real redis-server (Debian's package, on a free loopback port, started and stopped here).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { DESKTOP, PHONE, launchUser, type BrowserUser } from './helpers/browser.js';
import { chatRoot, startChat, type ChatProcess } from './helpers/chat-process.js';
import { messageTexts, openChat, presenceText, say, waitForBanner, waitForMessage } from './helpers/chat-page.js';
import { connectPeer, isEvent, type Peer } from './helpers/peer.js';
import { startRedis, type RedisProcess } from './helpers/redis.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

describe('two instances sharing one Redis', { timeout: 60_000 }, () => {
  let redis: RedisProcess;
  let dataDir: string;
  let east: ChatProcess;
  let west: ChatProcess;
  const users: BrowserUser[] = [];
  const peers: Peer[] = [];
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    dataDir = await mkdtemp(join(tmpdir(), 'chat-redis-'));
    // Separate data files prove nothing is shared through the disk.
    [east, west] = await Promise.all([
      startChat({ redisUrl: redis.url, dataFile: join(dataDir, 'east.json') }),
      startChat({ redisUrl: redis.url, dataFile: join(dataDir, 'west.json') }),
    ]);
  }, 60_000);

  beforeEach(() => {
    // What the servers printed (their errors included) explains a failure best.
    onTestFailed(() => console.error(`east:\n${east.output()}\nwest:\n${west.output()}`));
  });

  afterEach(async () => {
    await Promise.all(users.splice(0).map((user) => user.close()));
    await Promise.all(peers.splice(0).map((peer) => peer.close()));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  }, 30_000);

  afterAll(async () => {
    await Promise.all([east?.stop(), west?.stop()]);
    await redis?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('prints that it uses Redis', () => {
    expect(east.output()).toContain(`(broker: Redis at ${redis.url}`);
  });

  it('one page on each instance, same room: presence and messages cross', async () => {
    const alice = await launchUser(DESKTOP);
    const bob = await launchUser(PHONE);
    users.push(alice, bob);
    await openChat(alice.page, east.origin, 'alice', 'across');
    await openChat(bob.page, west.origin, 'bob', 'across');
    await alice.page.waitForFunction(() => document.querySelector('#presence')?.textContent === 'Online: alice (you), bob');
    expect(await presenceText(bob.page)).toBe('Online: alice, bob (you)');

    await say(alice.page, 'from east');
    await waitForMessage(bob.page, 'from east');
    await say(bob.page, 'from west');
    await waitForMessage(alice.page, 'from west');
    await bob.page.locator('#text').pressSequentially('typing on west', { delay: 10 });
    await alice.page.waitForFunction(() => document.querySelector('#typing')?.textContent === 'bob is typing…');

    expect(await messageTexts(alice.page)).toEqual(['from east', 'from west']);
    expect(await messageTexts(bob.page)).toEqual(['from east', 'from west']);
    // A room created on one instance is listed by the other.
    await bob.page.waitForFunction(() => document.querySelector('#room-list [data-room="across"] .count')?.textContent === '2 online');
    await alice.page.screenshot({ path: join(chatRoot, 'test-results', 'chat-redis-east.png') });
  });

  it('the history lives in Redis: an instance restarted without its file still has it', async () => {
    const alice = await connectPeer(`ws://127.0.0.1:${east.port}/ws?name=alice`);
    peers.push(alice);
    await alice.request('join', { room: 'durable' });
    await alice.request('say', { room: 'durable', id: 'durable-0001', text: 'kept by redis' });
    await alice.waitFor(isEvent('message', (data) => data['text'] === 'kept by redis'));

    const port = west.port;
    await west.stop();
    await rm(join(dataDir, 'west.json'), { force: true });
    west = await startChat({ redisUrl: redis.url, dataFile: join(dataDir, 'west.json'), port });
    const bob = await connectPeer(`ws://127.0.0.1:${west.port}/ws?name=bob`);
    peers.push(bob);
    const joined = await bob.request('join', { room: 'durable' });
    expect(joined, west.output()).toMatchObject({ ok: true });
    expect((joined['data'] as { history: Array<{ text: string }> }).history.map((message) => message.text)).toEqual(['kept by redis']);
    await bob.request('say', { room: 'durable', id: 'durable-0002', text: 'and numbered on' });
    const delivered = await alice.waitFor(isEvent('message', (data) => data['text'] === 'and numbered on'));
    expect(delivered['seq']).toBe(2);
  });

  it('a message sent again through the other instance is still stored once', async () => {
    const connect = async (server: ChatProcess, name: string): Promise<Peer> => {
      const peer = await connectPeer(`ws://127.0.0.1:${server.port}/ws?name=${name}`);
      peers.push(peer);
      return peer;
    };
    const alice = await connect(east, 'alice');
    const bob = await connect(west, 'bob');
    await alice.request('join', { room: 'twice' });
    await bob.request('join', { room: 'twice' });
    const first = await bob.request('say', { room: 'twice', id: 'twice-bob-01', text: 'from bob' });
    const second = await alice.request('say', { room: 'twice', id: 'twice-alice1', text: 'from alice' });
    await bob.waitFor(isEvent('message', (data) => data['id'] === 'twice-alice1'));
    // The same messages again, each through the instance that did not store it, from
    // connections that are not in the room (like a queued message sent before the re-join).
    const westAgain = await connect(west, 'alice');
    const eastAgain = await connect(east, 'bob');
    expect((await westAgain.request('say', { room: 'twice', id: 'twice-alice1', text: 'from alice' }))['data']).toEqual(second['data']);
    expect((await eastAgain.request('say', { room: 'twice', id: 'twice-bob-01', text: 'from bob' }))['data']).toEqual(first['data']);
    // …and through members of the room.
    expect((await bob.request('say', { room: 'twice', id: 'twice-alice1', text: 'from alice' }))['data']).toEqual(second['data']);
    const history = await alice.request('history', { room: 'twice' });
    expect((history['data'] as { history: Array<{ id: string }> }).history.map((message) => message.id)).toEqual(['twice-bob-01', 'twice-alice1']);
  });

  it('an instance stops: its page gets 1001 and reconnects through the load balancer to the other, losing nothing', async () => {
    // A load balancer in front of both instances, sending new connections to `east` for now.
    let healthy = east.port;
    const balancer = await startTcpProxy(() => healthy);
    proxies.push(balancer);
    const alice = await launchUser(DESKTOP);
    const bob = await launchUser(PHONE);
    users.push(alice, bob);
    await openChat(alice.page, `http://127.0.0.1:${balancer.port}`, 'alice', 'failover');
    await openChat(bob.page, west.origin, 'bob', 'failover');
    await say(alice.page, 'on east');
    await waitForMessage(bob.page, 'on east');

    // East is taken out of the pool and stopped: its connections close with 1001.
    healthy = west.port;
    const eastPort = east.port;
    const exit = await east.stop('SIGTERM');
    expect(exit.code).toBe(0);
    await alice.page.waitForFunction(() => document.querySelector<HTMLElement>('#banner')?.dataset['lastClose'] === '1001');
    // While Alice reconnects, Bob keeps talking; she gets what she missed by resuming.
    await say(bob.page, 'while alice moves');
    await waitForBanner(alice.page, 'connected');
    await waitForMessage(alice.page, 'while alice moves');
    await say(alice.page, 'now on west');
    await waitForMessage(bob.page, 'now on west');
    await alice.page.waitForFunction(() => document.querySelector('#presence')?.textContent === 'Online: alice (you), bob');

    const expected = ['on east', 'while alice moves', 'now on west'];
    expect(await messageTexts(alice.page)).toEqual(expected);
    expect(await messageTexts(bob.page)).toEqual(expected);
    east = await startChat({ redisUrl: redis.url, dataFile: join(dataDir, 'east.json'), port: eastPort });
  });
});
