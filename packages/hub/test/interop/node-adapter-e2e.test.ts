/**
 * The hub on @switchyard/node, end to end: its server connections are handed to the hub as
 * they are (they implement PeerConnection), and @switchyard/client talks to it through the
 * adapter's own WHATWG WebSocket client.
 */
import { createClient, type Client } from '@switchyard/client';
import { WebSocket } from '@switchyard/node';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub } from '../../src/index.js';
import type { ChatHub } from '../support/chat-app.js';
import { chatProtocol, type ChatProtocol } from '../support/chat-protocol.js';
import { startNodeChatServer } from '../support/node-chat-server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function connect(url: string): { client: Client<ChatProtocol>; lines: string[]; events: string[] } {
  const client = createClient(chatProtocol, {
    url,
    WebSocket: WebSocket as never,
    window: null,
    initialDelay: 20,
    maxDelay: 100,
    heartbeatInterval: 0,
  });
  const lines: string[] = [];
  const events: string[] = [];
  client.on('line', (line, meta) => lines.push(`${meta.seq}:${line.text}`));
  client.onEvent('gap', (gap) => events.push(`gap ${gap.from}-${gap.to}`));
  client.onEvent('resync', () => events.push('resync'));
  cleanups.push(() => client.close());
  return { client, lines, events };
}

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('hub on @switchyard/node', () => {
  it('runs a chat room: one order for everyone, presence, exact resume after a dropped connection, resync after two hours', async () => {
    let clock = 1_000_000;
    const hub: ChatHub = createHub({ protocol: chatProtocol, now: () => clock, history: { maxCount: 100, maxAgeMs: 600_000 } });
    const server = await startNodeChatServer(hub);
    cleanups.push(() => hub.close(), () => server.close());

    const ann = connect(server.url);
    const bob = connect(server.url);
    expect(await ann.client.request('join', { room: 'lobby', name: 'ann' })).toEqual({ members: 1 });
    expect(await bob.client.request('join', { room: 'lobby', name: 'bob' })).toEqual({ members: 2 });
    expect(await ann.client.request('who', { room: 'lobby' })).toEqual(['ann', 'bob']);

    for (let i = 1; i <= 10; i++) (i % 2 ? ann : bob).client.send('say', { room: 'lobby', text: `l${i}` });
    await until(() => ann.lines.length === 10 && bob.lines.length === 10, 'ten lines each');
    expect(ann.lines).toEqual(bob.lines);
    expect(ann.lines.map((l) => Number(l.split(':')[0]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    // The server drops bob's connection; lines go on; bob's client reconnects and resumes.
    const bobId = (await hub.presence.list('lobby')).find((m) => m.meta.name === 'bob')?.id;
    const bobConnection = [...server.connections].find((connection) => hub.attach(connection) === bobId);
    expect(bobConnection).toBeDefined();
    bobConnection?.close(1012, 'restart');
    for (let i = 11; i <= 25; i++) ann.client.send('say', { room: 'lobby', text: `l${i}` });
    await until(() => ann.lines.length === 25 && bob.lines.length === 25, 'the backlog for bob');
    expect(bob.lines).toEqual(ann.lines);
    expect(bob.events).toEqual([]);

    // Two simulated hours offline: resync.
    bob.client.close();
    await until(() => hub.localSubscriberCount('lobby') === 1, 'bob gone');
    expect(await ann.client.request('who', { room: 'lobby' })).toEqual(['ann']);
    ann.client.send('say', { room: 'lobby', text: 'while bob is away' });
    await until(() => ann.lines.length === 26, 'the line');
    clock += 2 * 3600_000;
    bob.client.connect();
    await until(() => bob.events.length === 1, 'resync');
    expect(bob.events).toEqual(['resync']);
    ann.client.send('say', { room: 'lobby', text: 'welcome back' });
    await until(() => bob.lines.length === 26, 'the live line');
    expect(bob.lines.at(-1)).toBe('27:welcome back');
  });
});
