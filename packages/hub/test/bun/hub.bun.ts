// The hub inside Bun, on @switchyard/deno-bun's connections (they implement PeerConnection as
// they are), with @switchyard/client over Bun's own WebSocket:
//   bun --conditions=@switchyard/source test ./packages/hub/test/bun/hub.bun.ts   (scripts/test.d/40-hub-bun.sh)
import { createClient } from '@switchyard/client';
import { WebSocketServer } from '@switchyard/deno-bun/bun';
import { expect, test } from 'bun:test';
import { createHub } from '../../src/index.js';
import { chatConnection, type ChatHub } from '../support/chat-app.js';
import { chatProtocol } from '../support/chat-protocol.js';

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

test('a chat room on Bun: one order for everyone, exact resume after a dropped connection', async () => {
  const hub: ChatHub = createHub({ protocol: chatProtocol });
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (connection) => {
    const onText = chatConnection(hub, connection);
    connection.on('message', (data, isBinary) => (isBinary ? connection.close(1003, 'text only') : onText(String(data))));
  });
  const url = `ws://127.0.0.1:${server.port}/`;
  const open = (name: string) => {
    const client = createClient(chatProtocol, { url, window: null, initialDelay: 20, maxDelay: 100, heartbeatInterval: 0 });
    const lines: string[] = [];
    const events: string[] = [];
    client.on('line', (line, meta) => lines.push(`${meta.seq}:${line.text}`));
    client.onEvent('gap', () => events.push('gap'));
    client.onEvent('resync', () => events.push('resync'));
    return { name, client, lines, events };
  };
  const ann = open('ann');
  const bob = open('bob');
  try {
    expect(await ann.client.request('join', { room: 'r', name: 'ann' })).toEqual({ members: 1 });
    expect(await bob.client.request('join', { room: 'r', name: 'bob' })).toEqual({ members: 2 });
    for (let i = 1; i <= 10; i++) (i % 2 ? ann : bob).client.send('say', { room: 'r', text: `l${i}` });
    await until(() => ann.lines.length === 10 && bob.lines.length === 10, 'ten lines each');
    expect(bob.lines).toEqual(ann.lines);
    expect(ann.lines.map((l) => Number(l.split(':')[0]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    const bobId = (await hub.presence.list('r')).find((m) => m.meta.name === 'bob')?.id;
    const bobConnection = [...server.clients].find((connection) => hub.attach(connection) === bobId);
    expect(bobConnection).toBeDefined();
    bobConnection?.close(1012, 'restart');
    for (let i = 11; i <= 20; i++) await hub.publish('r', 'line', { room: 'r', text: `l${i}`, from: 'server' });
    await until(() => bob.lines.length === 20, 'the backlog');
    expect(bob.lines).toEqual([...ann.lines.slice(0, 10), ...Array.from({ length: 10 }, (_, i) => `${i + 11}:l${i + 11}`)]);
    expect(bob.events).toEqual([]);
  } finally {
    ann.client.close();
    bob.client.close();
    await server.close();
    await hub.close();
  }
}, 30_000);
