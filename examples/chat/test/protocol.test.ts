// The shared protocol module: the page's typed client (@switchyard/client, here over
// @switchyard/node's WHATWG WebSocket) against the real server, and the compile-time checks
// the shared type gives both sides (`pnpm typecheck` compiles this file).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, RequestError, type Client } from '@switchyard/client';
import { WebSocket } from '@switchyard/node';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { chatProtocol, type ChatMessage, type ChatProtocolShape, type RoomSummary } from '../src/protocol.js';
import { startChatServer, type RunningChat } from '../src/server/server.js';

let dataDir: string;
let server: RunningChat;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'chat-protocol-'));
  server = await startChatServer({
    port: 0,
    host: '127.0.0.1',
    redisUrl: undefined,
    dataFile: join(dataDir, 'history.json'),
    allowedOrigins: [],
    checkOrigin: true,
    log: () => {},
  });
}, 30_000);

afterAll(async () => {
  await server.close();
  await rm(dataDir, { recursive: true, force: true });
}, 30_000);

function chatClient(name: string): Client<ChatProtocolShape> {
  return createClient(chatProtocol, {
    url: `ws://127.0.0.1:${server.port}/ws?name=${name}`,
    WebSocket,
    window: null,
    heartbeatInterval: 1_000,
    heartbeatTimeout: 1_000,
  });
}

describe('the typed client against the server', { timeout: 20_000 }, () => {
  it('joins, says, receives and gets typed refusals', async () => {
    const alice = chatClient('alice');
    const bob = chatClient('bob');
    try {
      await alice.request('join', { room: 'typed' });
      const joined = await bob.request('join', { room: 'typed' });
      expectTypeOf(joined.history).toEqualTypeOf<readonly ChatMessage[]>();
      expect(joined.members).toEqual(['alice', 'bob']);

      const received = new Promise<ChatMessage>((resolve) => bob.on('message', (message) => resolve(message)));
      const stored = await alice.request('say', { room: 'typed', id: 'typed-00001', text: 'hi from a typed client' }, { idempotent: true });
      expectTypeOf(stored).toEqualTypeOf<ChatMessage>();
      expect(await received).toEqual(stored);

      const refusal = await alice.request('join', { room: 'Not valid' }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(RequestError);
      expect(refusal).toMatchObject({ code: 'remote', remote: { code: 'invalid' } });

      // The heartbeat pings of the client are answered by the server (several intervals pass).
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(alice.state).toBe('open');
      const rooms = await alice.request('rooms', {});
      expectTypeOf(rooms.rooms).toEqualTypeOf<readonly RoomSummary[]>();
      expect(rooms.rooms.map((room) => room.name)).toContain('typed');
    } finally {
      alice.close();
      bob.close();
    }
  });
});

describe('compile-time checks of the shared protocol', { timeout: 20_000 }, () => {
  it('rejects unknown names and wrong payloads', () => {
    const client = createClient(chatProtocol, { url: 'ws://127.0.0.1:9/ws', WebSocket, window: null, autoConnect: false });
    const ignore = (promise: Promise<unknown>): void => void promise.catch(() => undefined);
    // @ts-expect-error — not a request of the protocol
    ignore(client.request('shout', {}));
    // @ts-expect-error — `say` needs an id
    ignore(client.request('say', { room: 'general', text: 'hi' }));
    // @ts-expect-error — `typing` is a boolean
    client.send('typing', { room: 'general', typing: 'yes' });
    // @ts-expect-error — the page never receives a `say`
    client.on('say', () => undefined);
    client.on('message', (message) => expectTypeOf(message).toEqualTypeOf<ChatMessage>());
    client.close();
  });
});
