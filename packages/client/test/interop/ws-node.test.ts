import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { decode, encode } from '@msgpack/msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createClient } from '../../src/client.js';
import { defineProtocol } from '../../src/protocol.js';
import type { Serializer } from '../../src/serializer.js';
import type { ClientState } from '../../src/types.js';
import { parseClientFrame, pongFor, type ClientFrame } from '@switchyard/wire';

// The client over `ws`'s WebSocket class on Node 20, against a real `ws` server on
// loopback, with MessagePack in binary frames.

interface Chat {
  client: { say: { text: string } };
  server: { said: { text: string } };
  requests: { join: { req: { room: string }; res: { members: string[] } } };
}

const msgpack: Serializer = {
  binary: true,
  encode: (frame) => encode(frame),
  decode: (data) => {
    if (typeof data === 'string') throw new TypeError('expected a binary frame');
    return decode(data);
  },
};

async function startServer(seen: ClientFrame[], port = 0) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return ws.close(1003);
      const value = decode(data as Buffer);
      const pong = pongFor(value);
      if (pong) return ws.send(encode(pong));
      const parsed = parseClientFrame(value);
      if (!parsed.ok) return ws.close(1008, parsed.error);
      seen.push(parsed.frame);
      if (parsed.frame.t === 'req') ws.send(encode({ t: 'res', id: parsed.frame.id, ok: true, data: { members: ['ada'] } }));
      if (parsed.frame.t === 'msg') ws.send(encode({ t: 'msg', type: 'said', data: parsed.frame.data, topic: 'lobby', seq: seen.length }));
      return undefined;
    });
  });
  return {
    port: (wss.address() as AddressInfo).port,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function until(check: () => boolean, timeout = 3_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (check()) resolve();
      else if (Date.now() - started > timeout) reject(new Error('condition not met in time'));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('over ws on Node', () => {
  it('speaks MessagePack in binary frames, answers heartbeats and survives a server restart', async () => {
    const seen: ClientFrame[] = [];
    let server = await startServer(seen);
    const port = server.port;
    cleanups.push(() => server.close());
    const client = createClient(defineProtocol<Chat>(), {
      url: `ws://127.0.0.1:${port}/`,
      WebSocket,
      window: null,
      serializer: msgpack,
      heartbeatInterval: 50,
      heartbeatTimeout: 200,
      initialDelay: 50,
      maxDelay: 100,
    });
    cleanups.push(() => client.close());
    const states: ClientState[] = [];
    const said: string[] = [];
    client.onEvent('state', (change) => states.push(change.state));
    client.on('said', (data) => said.push(data.text));
    await until(() => client.state === 'open');

    await expect(client.request('join', { room: 'lobby' })).resolves.toEqual({ members: ['ada'] });
    expect(client.send('say', { text: 'one' })).toBe('sent');
    await until(() => said.length === 1);
    // Several heartbeats pass, answered by the server.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.state).toBe('open');

    await server.close();
    await until(() => client.state === 'reconnecting');
    expect(client.send('say', { text: 'two' })).toBe('queued');
    server = await startServer(seen, port);
    await until(() => said.length === 2);
    expect(said).toEqual(['one', 'two']);
    expect(seen.map((frame) => frame.t)).toEqual(['req', 'msg', 'resume', 'msg']);
    expect(seen[2]).toEqual({ t: 'resume', streams: { lobby: 2 } });
    // Attempts made before the server was back may add connecting/reconnecting pairs in the middle.
    expect(states.slice(0, 3)).toEqual(['connecting', 'open', 'reconnecting']);
    expect(states.slice(3, -1).every((state) => state === 'connecting' || state === 'reconnecting')).toBe(true);
    expect(states.at(-1)).toBe('open');
  });
});

describe('failed attempts over ws', () => {
  it('abandons a handshake that never completes and retries, without an unhandled error', async () => {
    // A TCP server that accepts and never answers the upgrade request.
    const held = new Set<Socket>();
    const silent = createTcpServer((socket) => {
      held.add(socket);
      socket.on('error', () => {});
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          held.forEach((socket) => socket.destroy());
          silent.close(() => resolve());
        }),
    );
    const reasons: string[] = [];
    const client = createClient(defineProtocol<Chat>(), {
      url: `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/`,
      WebSocket,
      window: null,
      connectTimeout: 100,
      initialDelay: 20,
      maxAttempts: 3,
    });
    client.onEvent('state', (change) => reasons.push(`${change.state}:${change.reason}`));
    await until(() => client.state === 'closed');
    expect(reasons).toEqual([
      'connecting:connect',
      'reconnecting:connect-timeout',
      'connecting:retry',
      'reconnecting:connect-timeout',
      'connecting:retry',
      'closed:max-attempts',
    ]);
    // Give a late 'error' from an aborted handshake the chance to surface.
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  it('retries a refused connection until the server appears', async () => {
    const seen: ClientFrame[] = [];
    const probe = await startServer(seen);
    const port = probe.port;
    await probe.close();
    const client = createClient(defineProtocol<Chat>(), {
      url: `ws://127.0.0.1:${port}/`,
      WebSocket,
      window: null,
      serializer: msgpack,
      initialDelay: 30,
      maxDelay: 60,
    });
    cleanups.push(() => client.close());
    const failures: (number | undefined)[] = [];
    client.onEvent('state', (change) => change.state === 'reconnecting' && failures.push(change.code));
    expect(client.send('say', { text: 'early' })).toBe('queued');
    await until(() => failures.length >= 2);
    expect(failures.every((code) => code === 1006)).toBe(true);
    const server = await startServer(seen, port);
    cleanups.push(() => server.close());
    await until(() => seen.length === 1);
    expect(seen).toEqual([{ t: 'msg', type: 'say', data: { text: 'early' } }]);
  });
});
