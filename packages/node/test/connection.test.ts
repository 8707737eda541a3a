import WsClient from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareMessage, type WebSocketConnection, type WebSocketServerOptions } from '../src/index.js';
import { delay, patternBytes, startServer, waitUntil, within, wsClosed, wsOpen } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A server and one connected `ws` client; resolves with both ends. */
async function pair(options: Omit<WebSocketServerOptions, 'port' | 'server' | 'noServer'> = {}, clientOptions: WsClient.ClientOptions = {}) {
  const started = await startServer(options);
  cleanups.push(() => started.server.close(1001, '', ));
  const connected = new Promise<WebSocketConnection>((resolve) => started.server.once('connection', resolve));
  const ws = new WsClient(started.url, clientOptions);
  ws.on('error', () => undefined);
  cleanups.push(() => ws.terminate());
  await within(wsOpen(ws), 3000, 'open');
  return { ...started, ws, peer: await connected };
}

function nextMessage(ws: WsClient): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));
}

describe('send', () => {
  it('reports written for an idle socket, accepts strings, Uint8Array, ArrayBuffer and views', async () => {
    const { ws, peer } = await pair();
    const received: Array<[string, boolean]> = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => received.push([data.toString('hex'), isBinary]));
    expect(peer.send('hi')).toEqual({ status: 'written', bufferedAmount: 0 });
    expect(peer.send(Uint8Array.of(1, 2)).status).toBe('written');
    expect(peer.send(Uint8Array.of(3, 4).buffer).status).toBe('written');
    expect(peer.send(new DataView(Uint8Array.of(9, 5, 6, 9).buffer, 1, 2)).status).toBe('written');
    expect(peer.send('as bytes', { binary: true }).status).toBe('written');
    await waitUntil(() => received.length === 5, 3000, 'five messages');
    expect(received).toEqual([
      [Buffer.from('hi').toString('hex'), false],
      ['0102', true],
      ['0304', true],
      ['0506', true],
      [Buffer.from('as bytes').toString('hex'), true],
    ]);
  });

  it('sendAsync resolves once the bytes reached the kernel; flush resolves when nothing is buffered', async () => {
    const { ws, peer } = await pair();
    const big = patternBytes(8 * 1024 * 1024);
    const got = nextMessage(ws);
    const result = await within(peer.sendAsync(big), 5000, 'sendAsync');
    expect(result.status).toBe('written');
    expect(peer.bufferedAmount).toBe(0);
    await peer.flush();
    expect(Buffer.compare((await got).data, big)).toBe(0);
  });

  it('cork() sends several messages in one write', async () => {
    const { ws, peer } = await pair();
    const got: string[] = [];
    const chunks: number[] = [];
    // Count the TCP reads on the client side: one batch should arrive as one chunk.
    (ws as unknown as { _socket: import('node:net').Socket })._socket.prependListener('data', (chunk: Buffer) => chunks.push(chunk.length));
    ws.on('message', (data: Buffer) => got.push(data.toString()));
    const results: string[] = [];
    peer.cork(() => {
      for (let i = 0; i < 10; i++) results.push(peer.send(`m${i}`).status);
    });
    await waitUntil(() => got.length === 10, 3000, 'ten messages');
    expect(results).toEqual(Array(10).fill('queued'));
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    expect(chunks).toEqual([10 * 4]);
  });

  it('cork() without a callback holds writes across turns until the matching uncork()', async () => {
    const { ws, peer } = await pair();
    const got: string[] = [];
    const chunks: number[] = [];
    (ws as unknown as { _socket: import('node:net').Socket })._socket.prependListener('data', (chunk: Buffer) => chunks.push(chunk.length));
    ws.on('message', (data: Buffer) => got.push(data.toString()));
    peer.cork();
    peer.cork();
    expect(peer.send('a0').status).toBe('queued');
    await delay(20);
    expect(peer.send('a1').status).toBe('queued');
    peer.uncork();
    await delay(20);
    // Still held by the outer cork: nothing reached the client.
    expect(got).toEqual([]);
    expect(peer.bufferedAmount).toBe(8);
    peer.uncork();
    await waitUntil(() => got.length === 2, 3000, 'two messages');
    expect(got).toEqual(['a0', 'a1']);
    expect(chunks).toEqual([2 * 4]);
    // An extra uncork changes nothing: the next send is written at once.
    peer.uncork();
    expect(peer.send('b').status).toBe('written');
  });

  it('server.cork() turns several broadcasts into one write per connection', async () => {
    const { server, url } = await startServer();
    cleanups.push(() => server.close());
    const clients = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const ws = new WsClient(url);
        cleanups.push(() => ws.terminate());
        await wsOpen(ws);
        return ws;
      }),
    );
    await waitUntil(() => server.clients.size === 3, 3000, 'clients');
    const reads = clients.map(() => [] as number[]);
    const messages = clients.map(() => [] as string[]);
    clients.forEach((ws, i) => {
      (ws as unknown as { _socket: import('node:net').Socket })._socket.prependListener('data', (chunk: Buffer) => reads[i]?.push(chunk.length));
      ws.on('message', (data: Buffer) => messages[i]?.push(data.toString()));
    });
    server.cork(() => {
      for (let i = 0; i < 5; i++) server.broadcast(`b${i}`);
    });
    await waitUntil(() => messages.every((m) => m.length === 5), 3000, 'five broadcasts each');
    expect(messages).toEqual(Array(3).fill(['b0', 'b1', 'b2', 'b3', 'b4']));
    expect(reads).toEqual(Array(3).fill([5 * 4]));
  });

  it('fragments on request', async () => {
    const { ws, peer } = await pair();
    const got = nextMessage(ws);
    peer.send('x'.repeat(1000), { fragmentSize: 7 });
    expect((await got).data.toString()).toBe('x'.repeat(1000));
  });

  it('drops sends after close with reason closed, and sendAsync rejects', async () => {
    const { peer } = await pair();
    peer.close(1000);
    expect(peer.send('late')).toMatchObject({ status: 'dropped', reason: 'closed' });
    await expect(peer.sendAsync('late')).rejects.toMatchObject({ code: 'ERR_WEBSOCKET_SEND', reason: 'closed' });
  });

  it('broadcast encodes once and reaches every client', async () => {
    const { server, url } = await startServer();
    cleanups.push(() => server.close());
    const clients = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const ws = new WsClient(url);
        cleanups.push(() => ws.terminate());
        await wsOpen(ws);
        return ws;
      }),
    );
    await waitUntil(() => server.clients.size === 5, 3000, 'clients');
    const got = Promise.all(clients.map((ws) => nextMessage(ws)));
    expect(server.broadcast('to all')).toBe(5);
    const prepared = prepareMessage(Uint8Array.of(7));
    expect((await got).map((m) => m.data.toString())).toEqual(Array(5).fill('to all'));
    const second = Promise.all(clients.map((ws) => nextMessage(ws)));
    expect(server.broadcast(prepared, (socket) => socket !== [...server.clients][0])).toBe(4);
    clients[0]?.close();
    expect((await Promise.race([second, delay(500).then(() => 'partial')]))).toBe('partial');
  });
});

describe('receive and limits', () => {
  it('delivers text as string and binary as Uint8Array, or Buffer with binaryType buffer', async () => {
    const plain = await pair();
    const seen = new Promise<unknown[]>((resolve) => {
      const got: unknown[] = [];
      plain.peer.on('message', (data, isBinary) => {
        got.push([typeof data, data instanceof Uint8Array, Buffer.isBuffer(data), isBinary]);
        if (got.length === 2) resolve(got);
      });
    });
    plain.ws.send('t');
    plain.ws.send(Buffer.from([1]));
    expect(await seen).toEqual([['string', false, false, false], ['object', true, false, true]]);

    const buffers = await pair({ binaryType: 'buffer' });
    const bin = new Promise<boolean>((resolve) => buffers.peer.once('message', (data) => resolve(Buffer.isBuffer(data))));
    buffers.ws.send(Buffer.from([1]));
    expect(await bin).toBe(true);
  });

  it('maxPayload: a larger message closes with 1009 (default limit 1 MiB)', async () => {
    const { ws } = await pair();
    const closed = wsClosed(ws);
    ws.send(Buffer.alloc(1024 * 1024 + 1));
    expect((await within(closed, 3000, 'close')).code).toBe(1009);
  });

  it('maxFragments: too many fragments close with 1009', async () => {
    const { ws } = await pair({ maxFragments: 10 });
    const closed = wsClosed(ws);
    for (let i = 0; i < 11; i++) ws.send('a', { fin: i === 10 });
    expect((await within(closed, 3000, 'close')).code).toBe(1009);
  });

  it('rateLimit: bursting past the bucket closes with 1008', async () => {
    const { ws, peer } = await pair({ rateLimit: { messagesPerSecond: 5, burst: 5 } });
    let delivered = 0;
    peer.on('message', () => (delivered += 1));
    const closed = wsClosed(ws);
    for (let i = 0; i < 20; i++) ws.send('m');
    expect((await within(closed, 3000, 'close')).code).toBe(1008);
    expect(delivered).toBe(5);
  });

  it('appHeartbeat: true answers @switchyard/client heartbeat pings', async () => {
    const { ws, peer } = await pair({ appHeartbeat: true });
    const appSaw: string[] = [];
    peer.on('message', (data) => appSaw.push(String(data)));
    const pong = nextMessage(ws);
    ws.send('{"t":"ping","ts":1700000000000}');
    expect(JSON.parse((await pong).data.toString())).toEqual({ t: 'pong', ts: 1700000000000 });
    ws.send('{"t":"msg","type":"ping","data":1}');
    await waitUntil(() => appSaw.length === 1, 3000, 'app message');
  });

  it('appHeartbeat leaves a ping unanswered once the server has started closing', async () => {
    const { ws, peer } = await pair({ appHeartbeat: true, closeTimeout: 2000 });
    const received: string[] = [];
    ws.on('message', (data: Buffer) => received.push(data.toString()));
    const closing = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    // The client keeps sending while our close frame is in flight: allowed, and nothing crashes.
    ws.on('close', () => undefined);
    peer.close(1000);
    ws.send('{"t":"ping","ts":5}');
    await within(closing, 3000, 'close');
    expect(received).toEqual([]);
  });

  it('appHeartbeat with a function answers application pings before the app sees them', async () => {
    const { ws, peer } = await pair({ appHeartbeat: (text) => (text === '{"t":"ping","ts":1}' ? '{"t":"pong","ts":1}' : undefined) });
    const appSaw: string[] = [];
    peer.on('message', (data) => appSaw.push(String(data)));
    const pong = nextMessage(ws);
    ws.send('{"t":"ping","ts":1}');
    expect((await pong).data.toString()).toBe('{"t":"pong","ts":1}');
    ws.send('ordinary');
    await waitUntil(() => appSaw.length === 1, 3000, 'ordinary message');
    expect(appSaw).toEqual(['ordinary']);
  });

  it('a throwing connection listener closes that connection with 1011, the server keeps serving', async () => {
    const { server, url } = await startServer();
    cleanups.push(() => server.close());
    const errors: string[] = [];
    server.on('error', (error) => errors.push(error.message));
    server.once('connection', () => {
      throw new Error('handler bug');
    });
    const first = new WsClient(url);
    cleanups.push(() => first.terminate());
    expect((await within(wsClosed(first), 3000, 'close')).code).toBe(1011);
    expect(errors).toEqual(['handler bug']);
    const second = new WsClient(url);
    cleanups.push(() => second.terminate());
    await within(wsOpen(second), 3000, 'second client');
  });

  it('a throwing message listener closes the connection with 1011 and does not crash', async () => {
    const { ws, peer } = await pair();
    const errors: string[] = [];
    peer.on('error', (error) => errors.push(error.message));
    peer.on('message', () => {
      throw new Error('listener bug');
    });
    const closed = wsClosed(ws);
    ws.send('x');
    expect((await within(closed, 3000, 'close')).code).toBe(1011);
    expect(errors).toContain('listener bug');
  });
});

describe('read backpressure', () => {
  it('async iteration pauses the socket while the consumer lags and resumes when it catches up', async () => {
    const { ws, peer } = await pair({ maxQueuedMessages: 4 });
    const iterator = peer[Symbol.asyncIterator]();
    for (let i = 0; i < 50; i++) ws.send(`m${i}`);
    await waitUntil(() => peer.readPaused, 3000, 'paused');
    const got: string[] = [];
    for (let i = 0; i < 50; i++) {
      const next = await within(iterator.next(), 3000, `message ${i}`);
      got.push(String(next.value));
    }
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    expect(peer.readPaused).toBe(false);
    ws.close(1000);
    expect((await within(iterator.next(), 3000, 'end')).done).toBe(true);
  });

  it('an async message handler gets messages one at a time, in order, with the socket paused meanwhile', async () => {
    const { ws, peer } = await pair({ maxQueuedMessages: 2 });
    const handled: string[] = [];
    let active = 0;
    let maxActive = 0;
    let sawPause = false;
    peer.onMessage(async (data) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      sawPause ||= peer.readPaused;
      await delay(2);
      handled.push(String(data));
      active -= 1;
    });
    for (let i = 0; i < 30; i++) ws.send(String(i));
    await waitUntil(() => handled.length === 30, 5000, 'handled');
    expect(handled).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    expect(maxActive).toBe(1);
    expect(sawPause).toBe(true);
  });

  it('pause() and resume() stop and restart delivery', async () => {
    const { ws, peer } = await pair();
    const got: string[] = [];
    peer.on('message', (data) => got.push(String(data)));
    peer.pause();
    ws.send('held');
    await delay(100);
    expect(got).toEqual([]);
    peer.resume();
    await waitUntil(() => got.length === 1, 3000, 'resumed');
  });
});

describe('close', () => {
  it('close codes both ways: server close reaches the client and vice versa', async () => {
    const a = await pair();
    const closedAtClient = wsClosed(a.ws);
    const serverSide = new Promise<unknown[]>((resolve) => a.peer.once('close', (...args) => resolve(args)));
    a.peer.close(4001, 'bye');
    expect(await within(closedAtClient, 3000, 'client close')).toEqual({ code: 4001, reason: 'bye' });
    expect(await within(serverSide, 3000, 'server close')).toEqual([4001, 'bye', true]);

    const b = await pair();
    const serverClosed = new Promise<unknown[]>((resolve) => b.peer.once('close', (...args) => resolve(args)));
    b.ws.close(3999, 'client leaves');
    expect(await within(serverClosed, 3000, 'server close')).toEqual([3999, 'client leaves', true]);
  });

  it('close() throws for a code that may not be sent', async () => {
    const { peer } = await pair();
    expect(() => peer.close(1005)).toThrow();
    expect(() => peer.close(1000, 'x'.repeat(124))).toThrow();
  });

  it('graceful shutdown: every peer gets 1001 after the messages already accepted, then the port is free', async () => {
    const { server, port, url } = await startServer();
    const peers: WebSocketConnection[] = [];
    server.on('connection', (peer) => peers.push(peer));
    const clients = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const ws = new WsClient(url);
        cleanups.push(() => ws.terminate());
        await wsOpen(ws);
        return ws;
      }),
    );
    await waitUntil(() => peers.length === 3, 3000, 'peers');
    const results = clients.map(
      (ws) =>
        new Promise<{ messages: number; code: number }>((resolve) => {
          let messages = 0;
          ws.on('message', () => (messages += 1));
          ws.once('close', (code) => resolve({ messages, code }));
        }),
    );
    const payload = patternBytes(256 * 1024);
    for (const peer of peers) for (let i = 0; i < 20; i++) peer.send(payload);
    await within(server.close(), 5000, 'server.close');
    expect(await Promise.all(results)).toEqual(Array(3).fill({ messages: 20, code: 1001 }));
    const again = await import('node:net').then(
      (net) =>
        new Promise<boolean>((resolve) => {
          const probe = net.createServer();
          probe.once('error', () => resolve(false));
          probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
        }),
    );
    expect(again).toBe(true);
  });
});

describe('heartbeat', () => {
  it('pings a silent peer and keeps it when it answers', async () => {
    // A generous timeout: a stalled event loop (a busy machine) must not look like a dead peer.
    const { ws, peer } = await pair({ heartbeatInterval: 40, heartbeatTimeout: 1000 });
    let pings = 0;
    ws.on('ping', () => (pings += 1));
    await waitUntil(() => pings >= 3, 5000, 'three pings');
    expect(peer.readyState).toBe('open');
  });

  it('idleTimeout closes a peer that sends no messages with 1001', async () => {
    const { ws } = await pair({ idleTimeout: 100, heartbeatInterval: 0 });
    const closed = await within(wsClosed(ws), 3000, 'idle close');
    expect(closed.code).toBe(1001);
  });
});
