/**
 * End to end over real sockets: @switchyard/client (over `ws`'s WHATWG-style WebSocket)
 * talking to a chat server built on the hub. Offline shorter than the history's retention
 * gets the exact backlog; a simulated two hours offline gets `resync`.
 */
import { createClient, type Client } from '@switchyard/client';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createHub, type Hub } from '../../src/index.js';
import { chatProtocol, type ChatProtocol } from '../support/chat-protocol.js';
import { startChatServer, type ChatServer } from '../support/ws-chat-server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(now?: () => number): Promise<{ hub: Hub<ChatProtocol, { name: string }>; server: ChatServer }> {
  const hub = createHub<ChatProtocol, { name: string }>({
    protocol: chatProtocol,
    history: { maxCount: 1000, maxAgeMs: 10 * 60_000 },
    ...(now ? { now } : {}),
  });
  const server = await startChatServer(hub);
  cleanups.push(() => hub.close(), () => server.close());
  return { hub, server };
}

interface Observed {
  readonly lines: Array<{ text: string; seq: number | undefined }>;
  readonly gaps: unknown[];
  readonly resyncs: string[];
}

function connect(url: string): { client: Client<ChatProtocol>; seen: Observed } {
  const client = createClient(chatProtocol, {
    url,
    WebSocket: WebSocket as never,
    window: null,
    initialDelay: 20,
    maxDelay: 100,
    heartbeatInterval: 0,
  });
  const seen: Observed = { lines: [], gaps: [], resyncs: [] };
  client.on('line', (line, meta) => seen.lines.push({ text: line.text, seq: meta.seq }));
  client.onEvent('gap', (gap) => seen.gaps.push(gap));
  client.onEvent('resync', ({ topic }) => seen.resyncs.push(topic));
  cleanups.push(() => client.close());
  return { client, seen };
}

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const texts = (seen: Observed): string[] => seen.lines.map((l) => l.text);

describe('hub over real sockets with @switchyard/client', () => {
  it('delivers a room’s lines to every member in one order, with seq in the metadata', async () => {
    const { server } = await setup();
    const ann = connect(server.url);
    const bob = connect(server.url);
    expect(await ann.client.request('join', { room: 'r', name: 'ann' })).toEqual({ members: 1 });
    expect(await bob.client.request('join', { room: 'r', name: 'bob' })).toEqual({ members: 2 });
    for (let i = 0; i < 20; i++) (i % 2 ? ann : bob).client.send('say', { room: 'r', text: `m${i}` });
    await until(() => ann.seen.lines.length === 20 && bob.seen.lines.length === 20, '20 lines each');
    expect(ann.seen.lines).toEqual(bob.seen.lines);
    expect(ann.seen.lines.map((l) => l.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect([...texts(ann.seen)].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
  });

  it('a client whose connection dropped resumes with exactly the lines it missed: no loss, no duplicate, no gap', async () => {
    const { hub, server } = await setup();
    const ann = connect(server.url);
    await ann.client.request('join', { room: 'r', name: 'ann' });
    for (let i = 1; i <= 5; i++) await hub.publish('r', 'line', { room: 'r', text: `a${i}`, from: 'srv' });
    await until(() => ann.seen.lines.length === 5, 'first five');
    // Cut the TCP connection under the client, publish while it reconnects.
    for (const socket of server.sockets) socket.terminate();
    for (let i = 6; i <= 30; i++) await hub.publish('r', 'line', { room: 'r', text: `a${i}`, from: 'srv' });
    await until(() => ann.seen.lines.length >= 30, 'the backlog');
    await hub.publish('r', 'line', { room: 'r', text: 'a31', from: 'srv' });
    await until(() => ann.seen.lines.length >= 31, 'the live line after the backlog');
    expect(texts(ann.seen)).toEqual(Array.from({ length: 31 }, (_, i) => `a${i + 1}`));
    expect(ann.seen.gaps).toEqual([]);
    expect(ann.seen.resyncs).toEqual([]);
  });

  it('offline less than the retention: the exact backlog; offline a simulated two hours: resync, then live', async () => {
    let clock = Date.UTC(2026, 10, 21, 12);
    const { hub, server } = await setup(() => clock);
    const ann = connect(server.url);
    await ann.client.request('join', { room: 'r', name: 'ann' });
    await hub.publish('r', 'line', { room: 'r', text: 'before', from: 'srv' });
    await until(() => ann.seen.lines.length === 1, 'the first line');

    ann.client.close();
    await until(() => hub.localSubscriberCount('r') === 0, 'the server to see the close');
    clock += 5 * 60_000;
    await hub.publish('r', 'line', { room: 'r', text: 'while away 1', from: 'srv' });
    await hub.publish('r', 'line', { room: 'r', text: 'while away 2', from: 'srv' });
    clock += 4 * 60_000;
    ann.client.connect();
    await until(() => ann.seen.lines.length === 3, 'the backlog');
    expect(texts(ann.seen)).toEqual(['before', 'while away 1', 'while away 2']);
    expect(ann.seen.resyncs).toEqual([]);

    ann.client.close();
    await until(() => hub.localSubscriberCount('r') === 0, 'the server to see the close');
    await hub.publish('r', 'line', { room: 'r', text: 'long gone 1', from: 'srv' });
    clock += 2 * 3600_000;
    await hub.publish('r', 'line', { room: 'r', text: 'long gone 2', from: 'srv' });
    clock += 1000;
    ann.client.connect();
    await until(() => ann.seen.resyncs.length === 1, 'resync');
    expect(ann.seen.resyncs).toEqual(['r']);
    // Resumed as a subscriber: live lines flow again without a rejoin.
    await hub.publish('r', 'line', { room: 'r', text: 'after resync', from: 'srv' });
    await until(() => ann.seen.lines.length === 4, 'the live line');
    expect(texts(ann.seen)).toEqual(['before', 'while away 1', 'while away 2', 'after resync']);
    expect(ann.seen.gaps).toEqual([]);
  });
});
