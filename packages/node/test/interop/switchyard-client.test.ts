// @switchyard/client (the typed, reconnecting client) running on this package's WHATWG
// WebSocket, against this package's server answering its heartbeats with `appHeartbeat`.
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, defineProtocol, type Client } from '@switchyard/client';
import { WebSocket, type WebSocketConnection } from '../../src/index.js';
import { delay, startServer, waitUntil, within } from '../helpers.js';

interface Chat {
  client: { say: { text: string } };
  server: { said: { text: string } };
  requests: Record<string, never>;
}
const chat = defineProtocol<Chat>();

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('@switchyard/client on our WebSocket', () => {
  it('exchanges typed messages and keeps the connection through heartbeats the app never sees', async () => {
    const { server, url } = await startServer({ appHeartbeat: true });
    cleanups.push(() => server.close());
    const seenByApp: string[] = [];
    const peers: WebSocketConnection[] = [];
    server.on('connection', (socket) => {
      peers.push(socket);
      socket.on('message', (data) => {
        const text = String(data);
        seenByApp.push(text);
        const frame = JSON.parse(text) as { t: string; type: string; data: { text: string } };
        if (frame.t === 'msg' && frame.type === 'say') socket.send(JSON.stringify({ t: 'msg', type: 'said', data: { text: frame.data.text.toUpperCase() } }));
      });
    });

    const client: Client<Chat> = createClient(chat, {
      url,
      WebSocket,
      heartbeatInterval: 40,
      heartbeatTimeout: 150,
    });
    cleanups.push(() => client.close());
    const said = new Promise<string>((resolve) => client.on('said', ({ text }) => resolve(text)));
    client.send('say', { text: 'hello' });
    expect(await within(said, 5000, 'typed reply')).toBe('HELLO');

    // Several heartbeat periods: the pings are answered by the adapter, the client stays open.
    await delay(500);
    expect(client.state).toBe('open');
    expect(peers).toHaveLength(1);
    expect(seenByApp.every((text) => !text.includes('"ping"'))).toBe(true);
    expect(seenByApp).toHaveLength(1);
  });

  it('reconnects after the server drops the connection', async () => {
    const { server, url } = await startServer();
    cleanups.push(() => server.close());
    const peers: WebSocketConnection[] = [];
    server.on('connection', (socket) => peers.push(socket));
    const client = createClient(chat, {
      url,
      WebSocket,
      heartbeatInterval: 0,
    });
    cleanups.push(() => client.close());
    await waitUntil(() => peers.length === 1 && client.state === 'open', 5000, 'first connection');
    peers[0]?.terminate();
    await waitUntil(() => peers.length === 2 && client.state === 'open', 10_000, 'reconnected');
  });
});
