// The chat server against its protocol, in process, spoken to with @switchyard/node's client.
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startChatServer, type RunningChat } from '../src/server/server.js';
import type { ChatConfig } from '../src/server/config.js';
import { connectPeer, events, isEvent, type Peer } from './helpers/peer.js';

let dataDir: string;
const peers: Peer[] = [];
const servers: RunningChat[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'chat-server-'));
}, 30_000);

afterEach(async () => {
  await Promise.all(peers.splice(0).map((peer) => peer.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
}, 30_000);

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
}, 30_000);

let fileCount = 0;

async function start(overrides: Partial<Parameters<typeof startChatServer>[0]> = {}): Promise<RunningChat> {
  const config: ChatConfig = {
    port: 0,
    host: '127.0.0.1',
    redisUrl: undefined,
    dataFile: join(dataDir, `history-${fileCount++}.json`),
    allowedOrigins: [],
    checkOrigin: true,
    ...overrides,
  };
  const server = await startChatServer({ log: () => {}, ...config, ...overrides });
  servers.push(server);
  return server;
}

async function joinAs(server: RunningChat, name: string, room?: string): Promise<Peer> {
  const peer = await connectPeer(`ws://127.0.0.1:${server.port}/ws?name=${encodeURIComponent(name)}`);
  peers.push(peer);
  if (room !== undefined) {
    const reply = await peer.request('join', { room });
    expect(reply['ok']).toBe(true);
  }
  return peer;
}

const say = (peer: Peer, room: string, text: string, id = `m${Math.random().toString(36).slice(2, 12)}`) =>
  peer.request('say', { room, id, text });

describe('rooms and messages', { timeout: 20_000 }, () => {
  it('join replies with history and members; say reaches every member with topic and seq', async () => {
    const server = await start();
    const alice = await joinAs(server, 'alice', 'general');
    const bob = await joinAs(server, 'bob', 'general');

    const reply = await say(alice, 'general', 'hello bob', 'alice-0001');
    expect(reply).toMatchObject({ ok: true, data: { id: 'alice-0001', room: 'general', from: 'alice', text: 'hello bob' } });
    const delivered = await bob.waitFor(isEvent('message', (data) => data['id'] === 'alice-0001'));
    expect(delivered).toMatchObject({ topic: 'room:general', seq: 1, data: { from: 'alice', text: 'hello bob' } });
    await alice.waitFor(isEvent('message', (data) => data['id'] === 'alice-0001'));

    const carol = await joinAs(server, 'carol');
    const joined = await carol.request('join', { room: 'general' });
    expect(joined).toMatchObject({ ok: true, data: { room: 'general', members: ['alice', 'bob', 'carol'] } });
    expect((joined['data'] as { history: unknown[] }).history).toMatchObject([{ id: 'alice-0001', text: 'hello bob' }]);
    await alice.waitFor(isEvent('presence', (data) => (data['members'] as string[]).includes('carol')));
  });

  it('a message sent twice with one id is stored once', async () => {
    const server = await start();
    const alice = await joinAs(server, 'alice', 'general');
    const first = await say(alice, 'general', 'once', 'dup-00001');
    const second = await say(alice, 'general', 'once', 'dup-00001');
    expect(second['data']).toEqual(first['data']);
    const history = await alice.request('history', { room: 'general' });
    expect((history['data'] as { history: unknown[] }).history).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events(alice, 'message')).toHaveLength(1);
  });

  it('typing news reaches the others in the room, not the typist', async () => {
    const server = await start();
    const alice = await joinAs(server, 'alice', 'general');
    const bob = await joinAs(server, 'bob', 'general');
    alice.send({ t: 'msg', type: 'typing', data: { room: 'general', typing: true } });
    await bob.waitFor(isEvent('typing', (data) => data['name'] === 'alice' && data['typing'] === true));
    await say(alice, 'general', 'done typing');
    await bob.waitFor(isEvent('typing', (data) => data['name'] === 'alice' && data['typing'] === false));
    expect(events(alice, 'typing')).toEqual([]);
  });

  it('rooms are created by joining them and listed with head counts', async () => {
    const server = await start();
    const alice = await joinAs(server, 'alice', 'book-club');
    const reply = await alice.request('rooms', {});
    expect(reply['data']).toEqual({
      rooms: [
        { name: 'book-club', online: 1 },
        { name: 'general', online: 0 },
        { name: 'random', online: 0 },
      ],
    });
  });

  it('a client that resumes gets exactly the messages it missed when it joins again', async () => {
    const server = await start();
    const alice = await joinAs(server, 'alice', 'general');
    const bob = await joinAs(server, 'bob', 'general');
    await say(alice, 'general', 'one');
    const seen = await bob.waitFor(isEvent('message', (data) => data['text'] === 'one'));
    await bob.close();
    await say(alice, 'general', 'two');
    await say(alice, 'general', 'three');

    const back = await joinAs(server, 'bob');
    back.send({ t: 'resume', streams: { 'room:general': seen['seq'] } });
    await back.request('join', { room: 'general' });
    await back.waitFor(isEvent('message', (data) => data['text'] === 'three'));
    expect(events(back, 'message').map((frame) => [frame['seq'], (frame['data'] as { text: string }).text])).toEqual([
      [2, 'two'],
      [3, 'three'],
    ]);
  });
});

describe('validation', { timeout: 20_000 }, () => {
  it('refuses bad room names, ids and texts with clear errors', async () => {
    const server = await start();
    const alice = await joinAs(server, 'alice', 'general');
    const cases: Array<[type: string, data: unknown, message: RegExp]> = [
      ['join', { room: 'Not A Room!' }, /a–z, 0–9 and "-"/],
      ['join', { room: 'x'.repeat(33) }, /at most 32 characters/],
      ['join', {}, /room name must be text/],
      ['say', { room: 'general', id: 'abcdefgh', text: '   ' }, /empty/],
      ['say', { room: 'general', id: 'abcdefgh', text: 'x'.repeat(1001) }, /at most 1000 characters/],
      ['say', { room: 'general', id: 'abcdefgh', text: 'bell\u0007' }, /control characters/],
      ['say', { room: 'general', id: 'abcdefgh', text: 'evil \u202e txt' }, /control characters/],
      ['say', { room: 'general', id: 'no', text: 'hi' }, /id is malformed/],
      ['history', { room: '' }, /Name the room/],
      ['launch', {}, /Unknown request "launch"/],
    ];
    for (const [type, data, message] of cases) {
      const reply = await alice.request(type, data);
      expect(reply['ok'], `${type} ${JSON.stringify(data)}`).toBe(false);
      expect((reply['error'] as { message: string }).message).toMatch(message);
    }
    const history = await alice.request('history', { room: 'general' });
    expect((history['data'] as { history: unknown[] }).history).toEqual([]);
  });

  it('answers malformed and unknown messages with an error event and stays connected', async () => {
    const server = await start();
    const alice = await joinAs(server, 'alice', 'general');
    alice.send('not json');
    await alice.waitFor(isEvent('error', (data) => data['message'] === 'The message is not JSON.'));
    alice.send({ t: 'msg' });
    await alice.waitFor(isEvent('error', (data) => String(data['message']).startsWith('Malformed message')));
    alice.send({ t: 'msg', type: 'shout', data: {} });
    await alice.waitFor(isEvent('error', (data) => data['code'] === 'unknown-type'));
    alice.send({ t: 'msg', type: 'typing', data: { room: 'elsewhere', typing: true } });
    await alice.waitFor(isEvent('error', (data) => data['code'] === 'not-in-room'));
    alice.ws.send(new Uint8Array([1, 2, 3]));
    await alice.waitFor(isEvent('error', (data) => String(data['message']).includes('JSON text')));
    expect((await alice.request('rooms', {}))['ok']).toBe(true);
  });

  it('closes with 4400 and the reason when the username is refused', async () => {
    const server = await start();
    for (const name of ['', 'has space', 'x'.repeat(25), '<script>']) {
      const peer = await connectPeer(`ws://127.0.0.1:${server.port}/ws?name=${encodeURIComponent(name)}`).catch((error: unknown) => error);
      const closed = peer instanceof Error ? undefined : await (peer as Peer).closed;
      expect(closed?.code, name).toBe(4400);
      expect(closed?.reason.length).toBeGreaterThan(0);
    }
  });

  it('closes with 1009 when a message is larger than the limit', async () => {
    const server = await start();
    const alice = await joinAs(server, 'alice', 'general');
    alice.send({ t: 'req', id: 1, type: 'say', data: { room: 'general', id: 'abcdefgh', text: 'x'.repeat(9000) } });
    expect((await alice.closed).code).toBe(1009);
  });
});

describe('rate limit', { timeout: 20_000 }, () => {
  it('refuses a burst beyond the bucket, then closes with 1008 under sustained abuse', async () => {
    const server = await start({ rateLimit: { burst: 5, perSecond: 1, maxStrikes: 10, strikeDecayPerSecond: 1 } } as Partial<ChatConfig>);
    const alice = await joinAs(server, 'alice');
    const replies = await Promise.all(Array.from({ length: 8 }, () => alice.request('rooms', {})));
    expect(replies.filter((reply) => reply['ok'] === true)).toHaveLength(5);
    const refused = replies.filter((reply) => reply['ok'] === false);
    expect(refused).toHaveLength(3);
    expect(refused[0]?.['error']).toMatchObject({ code: 'rate-limited' });
    // Garbage counts too: a flood of it ends the connection.
    for (let i = 0; i < 20; i++) alice.send('not even json');
    expect(await alice.closed).toEqual({ code: 1008, reason: 'too many messages' });
  });
});

describe('origin check', { timeout: 20_000 }, () => {
  function upgradeStatus(port: number, origin: string | undefined): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        path: '/ws?name=alice',
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          ...(origin === undefined ? {} : { Origin: origin }),
        },
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        resolve(101);
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it("accepts the page's own origin and refuses others with 403", async () => {
    const server = await start({ allowedOrigins: ['https://chat.example.com'] });
    expect(await upgradeStatus(server.port, `http://127.0.0.1:${server.port}`)).toBe(101);
    expect(await upgradeStatus(server.port, 'https://chat.example.com')).toBe(101);
    expect(await upgradeStatus(server.port, undefined)).toBe(101);
    expect(await upgradeStatus(server.port, 'https://evil.example')).toBe(403);
    expect(await upgradeStatus(server.port, `http://127.0.0.1:${server.port + 1}`)).toBe(403);
    expect(await upgradeStatus(server.port, 'null')).toBe(403);
  });
});

describe('the page', { timeout: 20_000 }, () => {
  function get(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('serves its files with a content security policy, and nothing else', async () => {
    const server = await start();
    const page = await get(server.port, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Switchyard chat</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect((await get(server.port, '/style.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get(server.port, '/../package.json')).status).toBe(404);
    expect((await get(server.port, '/src/server/main.ts')).status).toBe(404);
    expect((await get(server.port, '/', 'POST')).status).toBe(405);
  });
});
