// The connection core's behaviour tests, written once and run on every runtime against that
// runtime's adapter: inside Deno (test/deno/adapter.deno.ts), inside Bun (test/bun/adapter.bun.ts)
// and on Node under vitest (packages/node/test/shared-suite.test.ts), so that a drift between
// runtimes fails. Peers are real: the runtime's own WebSocket client (ws on Node 20), our
// client, raw TCP sockets for misbehaving peers.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { deflateRawSync } from 'node:zlib';
import type { BaseWebSocket, BaseWebSocketServer, ClientOptions, WebSocketConnection, WebSocketServerOptions } from '../../src/common.js';
import { prepareMessage } from '../../src/common.js';
import { RawPeer, clientFrame, concatBytes, headEnd, makeCertificate, nextEvent, serverFrames, sleep, upgradeRequest, within } from './helpers.js';

export interface RuntimeUnderTest {
  readonly name: 'deno' | 'bun' | 'node';
  readonly WebSocketServer: new <User = undefined>(options?: WebSocketServerOptions<User>) => BaseWebSocketServer<User>;
  readonly WebSocket: new (url: string | URL, protocols?: string | readonly string[], options?: ClientOptions) => BaseWebSocket;
  /** The runtime's own WHATWG WebSocket. */
  readonly NativeWebSocket: typeof globalThis.WebSocket;
  /** Resolves once a new server listens (Node binds asynchronously; Deno and Bun at once). */
  readonly listening?: (server: BaseWebSocketServer<unknown>) => Promise<void>;
  /** The server takes `tls` and `fetch` options itself (Deno, Bun); on Node they belong to the http(s) server. */
  readonly ownsHttp: boolean;
}

export type Register = (name: string, fn: () => Promise<void>) => void;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function defineSuite(rt: RuntimeUnderTest, test: Register): void {
  const servers: BaseWebSocketServer<unknown>[] = [];
  const peers: Array<{ close(): void }> = [];

  /** A server on an ephemeral loopback port, closed after the test. */
  async function serve<User = undefined>(options: WebSocketServerOptions<User> = {}): Promise<BaseWebSocketServer<User>> {
    const server = new rt.WebSocketServer<User>({ host: '127.0.0.1', port: 0, closeTimeout: 1000, ...options });
    servers.push(server as BaseWebSocketServer<unknown>);
    await rt.listening?.(server as BaseWebSocketServer<unknown>);
    return server;
  }

  function echo(server: BaseWebSocketServer<unknown>): void {
    server.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  }

  async function client(url: string, protocols?: string | string[], options?: ClientOptions): Promise<BaseWebSocket> {
    const ws = new rt.WebSocket(url, protocols, options);
    peers.push(ws);
    ws.binaryType = 'arraybuffer';
    const outcome = await within(
      new Promise<'open' | 'error'>((resolve) => {
        ws.addEventListener('open', () => resolve('open'), { once: true });
        ws.addEventListener('close', () => resolve('error'), { once: true });
      }),
      5000,
      'client open',
    );
    if (outcome !== 'open') throw new Error('connection failed');
    return ws;
  }

  async function raw(port: number): Promise<RawPeer> {
    const peer = await RawPeer.connect(port);
    peers.push({ close: () => peer.destroy() });
    return peer;
  }

  function messages(ws: EventTarget): Array<string | ArrayBuffer> {
    const received: Array<string | ArrayBuffer> = [];
    ws.addEventListener('message', (event) => received.push((event as MessageEvent).data as string | ArrayBuffer));
    return received;
  }

  async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
    await within(
      (async () => {
        while (!condition()) await sleep(5);
      })(),
      ms,
      what,
    );
  }

  const it: Register = (name, fn) =>
    test(name, async () => {
      try {
        await within(fn(), 20_000, name);
      } finally {
        for (const peer of peers.splice(0)) {
          try {
            peer.close();
          } catch {
            // already closed
          }
        }
        await Promise.all(servers.splice(0).map((server) => within(server.close(), 5000, 'server close').catch(() => undefined)));
      }
    });

  it(`${rt.name}: the runtime's own WebSocket client echoes text and binary through our server`, async () => {
    const server = await serve();
    echo(server);
    const ws = new rt.NativeWebSocket(`ws://127.0.0.1:${server.port}/`);
    peers.push(ws);
    ws.binaryType = 'arraybuffer';
    await nextEvent(ws, 'open');
    const received = messages(ws);
    ws.send('héllo');
    ws.send(Uint8Array.of(1, 2, 3, 255));
    ws.send('x'.repeat(70_000));
    await waitFor(() => received.length === 3, 5000, 'three echoes');
    assert.equal(received[0], 'héllo');
    assert.deepEqual([...new Uint8Array(received[1] as ArrayBuffer)], [1, 2, 3, 255]);
    assert.equal(received[2], 'x'.repeat(70_000));
    ws.close(1000, 'done');
    const closed = await nextEvent<CloseEvent>(ws, 'close');
    assert.equal(closed.code, 1000);
    assert.equal(closed.wasClean, true);
  });

  it(`${rt.name}: our client and our server exchange messages from 0 B to 2 MiB, fragmented or not`, async () => {
    const server = await serve({ maxPayload: 4 * 1024 * 1024 });
    echo(server);
    const ws = await client(`ws://127.0.0.1:${server.port}/`, undefined, { maxPayload: 4 * 1024 * 1024 });
    const received = messages(ws);
    const sizes = [0, 1, 125, 126, 65_535, 65_536, 2 * 1024 * 1024];
    for (const size of sizes) {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 31) & 0xff;
      ws.send(bytes);
    }
    ws.send('end');
    await waitFor(() => received.length === sizes.length + 1, 10_000, 'all echoes');
    sizes.forEach((size, index) => {
      const echoed = new Uint8Array(received[index] as ArrayBuffer);
      assert.equal(echoed.byteLength, size);
      for (let i = 0; i < size; i += 997) assert.equal(echoed[i], (i * 31) & 0xff);
    });
    assert.equal(received[sizes.length], 'end');
    assert.equal(ws.protocol, '');
    assert.equal(ws.extensions, '');
    assert.equal(ws.url, `ws://127.0.0.1:${server.port}/`);
  });

  it(`${rt.name}: server-side send results, fragmentation and async iteration`, async () => {
    const server = await serve();
    const results: string[] = [];
    server.on('connection', async (socket) => {
      for await (const message of socket) {
        if (message === 'fragments') {
          results.push(socket.send('f'.repeat(1000), { fragmentSize: 100 }).status);
        } else {
          results.push(socket.send(message).status);
        }
      }
    });
    const ws = await client(`ws://127.0.0.1:${server.port}/`);
    const received = messages(ws);
    ws.send('one');
    ws.send('fragments');
    await waitFor(() => received.length === 2, 5000, 'two echoes');
    assert.equal(received[0], 'one');
    assert.equal(received[1], 'f'.repeat(1000));
    // Sends made while a read is being handled leave together at its end: queued, then written.
    for (const status of results) assert.ok(status === 'queued' || status === 'written', status);
  });

  it(`${rt.name}: close codes and reasons travel both ways`, async () => {
    const server = await serve();
    const serverSide: Array<[number, string, boolean]> = [];
    let connection: WebSocketConnection | undefined;
    server.on('connection', (socket) => {
      connection = socket as WebSocketConnection;
      socket.on('close', (code, reason, wasClean) => serverSide.push([code, reason, wasClean]));
      socket.on('message', (data) => {
        if (data === 'close me') socket.close(4001, 'server says bye');
      });
    });
    const a = await client(`ws://127.0.0.1:${server.port}/`);
    a.close(4002, 'client says bye');
    const closedA = await nextEvent<CloseEvent>(a, 'close');
    assert.equal(closedA.code, 4002);
    await waitFor(() => serverSide.length === 1, 5000, 'server close event');
    assert.deepEqual(serverSide[0], [4002, 'client says bye', true]);
    assert.equal(connection?.readyState, 'closed');

    const b = await client(`ws://127.0.0.1:${server.port}/`);
    b.send('close me');
    const closedB = await nextEvent<CloseEvent>(b, 'close');
    assert.equal(closedB.code, 4001);
    assert.equal(closedB.reason, 'server says bye');
    assert.equal(closedB.wasClean, true);
    assert.throws(() => b.close(1001), (error: unknown) => error instanceof DOMException && error.name === 'InvalidAccessError');
  });

  it(`${rt.name}: authenticate accepts with typed user data or refuses with a status`, async () => {
    const server = await serve<{ name: string }>({
      authenticate: (request) => {
        const token = new URL(request.url, 'http://localhost').searchParams.get('token');
        return token === 'good' ? { ok: true, user: { name: 'ada' }, headers: [['X-Session', 'fresh']] } : { ok: false, status: 401, body: 'no' };
      },
    });
    const users: string[] = [];
    server.on('connection', (socket, request) => {
      users.push(`${socket.user.name} ${new URL(request.url, 'http://localhost').pathname}`);
      socket.send(`hi ${socket.user.name}`);
    });
    const ws = await client(`ws://127.0.0.1:${server.port}/room?token=good`);
    const [greeting] = await within(
      new Promise<string[]>((resolve) => ws.addEventListener('message', (event) => resolve([(event as MessageEvent).data as string]))),
      5000,
      'greeting',
    );
    assert.equal(greeting, 'hi ada');
    assert.deepEqual(users, ['ada /room']);

    const peer = await raw(server.port);
    peer.write(upgradeRequest('/room?token=bad'));
    await peer.until((p) => p.text.includes('\r\n\r\n'), 5000, 'refusal');
    assert.match(peer.text, /^HTTP\/1\.1 401 /);
    const refused = new rt.WebSocket(`ws://127.0.0.1:${server.port}/?token=bad`);
    peers.push(refused);
    const closed = await nextEvent<CloseEvent>(refused, 'close');
    assert.equal(closed.code, 1006);
    assert.equal(refused.readyState, refused.CLOSED);
  });

  it(`${rt.name}: authenticate refusing with a close code: 101, then that close, and no connection event`, async () => {
    let announced = 0;
    const server = await serve({
      authenticate: (request) =>
        new URL(request.url, 'http://localhost').searchParams.get('token') === 'good'
          ? { ok: true, user: undefined }
          : { ok: false, closeCode: 4001, reason: 'token expired' },
    });
    server.on('connection', () => (announced += 1));
    const refused = new rt.WebSocket(`ws://127.0.0.1:${server.port}/?token=old`);
    peers.push(refused);
    const opened = nextEvent<Event>(refused, 'open');
    const closed = await nextEvent<CloseEvent>(refused, 'close');
    await opened;
    assert.equal(closed.code, 4001);
    assert.equal(closed.reason, 'token expired');
    assert.equal(closed.wasClean, true);
    // The same server announces an admitted connection: the refused one was never announced.
    await client(`ws://127.0.0.1:${server.port}/?token=good`);
    await waitFor(() => announced === 1, 5000, 'the admitted connection');
    assert.equal(announced, 1);
  });

  it(`${rt.name}: origins, subprotocols, path and maxConnections are enforced in the handshake`, async () => {
    const server = await serve({ origins: ['https://app.example'], protocols: ['v2', 'v1'], path: '/ws', maxConnections: 2 });
    echo(server);
    const ws = await client(`ws://127.0.0.1:${server.port}/ws`, ['v1', 'v2'], { origin: 'https://app.example' });
    assert.equal(ws.protocol, 'v2');

    const foreign = await raw(server.port);
    foreign.write(upgradeRequest('/ws', 'Origin: https://evil.example\r\n'));
    await foreign.until((p) => p.text.includes('\r\n\r\n'), 5000, '403');
    assert.match(foreign.text, /^HTTP\/1\.1 403 /);

    const wrongPath = await raw(server.port);
    wrongPath.write(upgradeRequest('/elsewhere', 'Origin: https://app.example\r\n'));
    await wrongPath.until((p) => p.text.includes('\r\n\r\n'), 5000, '404');
    assert.match(wrongPath.text, /^HTTP\/1\.1 404 /);

    const second = await client(`ws://127.0.0.1:${server.port}/ws`, undefined, { origin: 'https://app.example' });
    assert.equal(second.protocol, '');
    const third = await raw(server.port);
    third.write(upgradeRequest('/ws', 'Origin: https://app.example\r\n'));
    await third.until((p) => p.text.includes('\r\n\r\n'), 5000, '503');
    assert.match(third.text, /^HTTP\/1\.1 503 /);
  });

  if (rt.ownsHttp) it(`${rt.name}: plain HTTP requests go to the fetch handler on the same port, or get 426`, async () => {
    const server = await serve({
      fetch: async (request) => {
        if (request.method === 'POST') return new Response(`got ${await request.text()}`, { status: 201 });
        return new Response(`page at ${new URL(request.url).pathname}`, { headers: { 'content-type': 'text/plain' } });
      },
    });
    echo(server);
    const page = await fetch(`http://127.0.0.1:${server.port}/index.html`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), 'page at /index.html');
    const posted = await fetch(`http://127.0.0.1:${server.port}/submit`, { method: 'POST', body: 'form data' });
    assert.equal(posted.status, 201);
    assert.equal(await posted.text(), 'got form data');
    const ws = await client(`ws://127.0.0.1:${server.port}/`);
    ws.send('still a websocket');
    const echoed = await nextEvent<MessageEvent>(ws, 'message');
    assert.equal(echoed.data, 'still a websocket');

    const bare = await serve();
    const answer = await fetch(`http://127.0.0.1:${bare.port}/`);
    assert.equal(answer.status, 426);
    await answer.arrayBuffer();
  });

  it(`${rt.name}: a handshake held in authenticate counts towards maxConnections and gets 503 when the server closes`, async () => {
    let entered!: () => void;
    const authenticating = new Promise<void>((resolve) => (entered = resolve));
    // Never settles: only the server's shutdown can end this handshake.
    const server = await serve({ maxConnections: 1, authenticate: () => (entered(), new Promise<never>(() => undefined)) });
    const held = await raw(server.port);
    held.write(upgradeRequest('/'));
    await within(authenticating, 5000, 'authenticate called');

    const over = await raw(server.port);
    over.write(upgradeRequest('/'));
    await over.until((p) => p.text.includes('\r\n\r\n'), 5000, '503 at capacity');
    assert.match(over.text, /^HTTP\/1\.1 503 /);
    assert.match(over.text, /\r\nRetry-After: 1\r\n/i);

    const closed = server.close();
    await held.until((p) => p.text.includes('\r\n\r\n'), 5000, '503 on shutdown');
    assert.match(held.text, /^HTTP\/1\.1 503 /);
    await within(closed, 5000, 'server close');
  });

  it(`${rt.name}: a handshake whose authenticate outlives handshakeTimeout gets 408 and never opens`, async () => {
    let release!: () => void;
    const late = new Promise<void>((resolve) => (release = resolve));
    let opened = 0;
    const server = await serve({ handshakeTimeout: 200, authenticate: async () => (await late, { ok: true, user: undefined }) });
    server.on('connection', () => (opened += 1));
    const peer = await raw(server.port);
    peer.write(upgradeRequest('/'));
    await peer.until((p) => p.text.includes('\r\n\r\n'), 5000, '408');
    assert.match(peer.text, /^HTTP\/1\.1 408 /);
    release();
    // A second, prompt handshake opens: authenticate's late answer for the first was dropped.
    const ws = await client(`ws://127.0.0.1:${server.port}/`);
    assert.equal(opened, 1);
    ws.close();
  });

  it(`${rt.name}: appHeartbeat: true answers the client's JSON pings before the application sees them`, async () => {
    const server = await serve({ appHeartbeat: true });
    const seen: string[] = [];
    server.on('connection', (socket) =>
      socket.on('message', (data) => {
        seen.push(String(data));
        socket.send(`got ${String(data)}`);
      }),
    );
    const ws = await client(`ws://127.0.0.1:${server.port}/`);
    const replies: string[] = [];
    const two = new Promise<void>((resolve) =>
      ws.addEventListener('message', (event) => {
        replies.push((event as MessageEvent).data as string);
        if (replies.length === 2) resolve();
      }),
    );
    ws.send('{"t":"ping","ts":42}');
    ws.send('hello');
    await within(two, 5000, 'pong and reply');
    assert.deepEqual(replies, ['{"t":"pong","ts":42}', 'got hello']);
    assert.deepEqual(seen, ['hello']);
  });

  it(`${rt.name}: a throwing connection handler closes that connection with 1011 and the server goes on`, async () => {
    const server = await serve();
    let calls = 0;
    server.on('connection', (socket) => {
      calls += 1;
      if (calls === 1) throw new Error('handler bug');
      socket.send('fine');
    });
    server.on('error', () => undefined);
    const first = new rt.WebSocket(`ws://127.0.0.1:${server.port}/`);
    peers.push(first);
    const closed = await nextEvent<CloseEvent>(first, 'close');
    assert.equal(closed.code, 1011);
    const second = await client(`ws://127.0.0.1:${server.port}/`);
    const greeting = await nextEvent<MessageEvent>(second, 'message');
    assert.equal(greeting.data, 'fine');
  });

  it(`${rt.name}: cork batches several broadcasts and keeps their order`, async () => {
    const server = await serve();
    const ws = await client(`ws://127.0.0.1:${server.port}/`);
    await within(
      (async () => {
        while (server.clients.size === 0) await sleep(5);
      })(),
      5000,
      'server side open',
    );
    const got: string[] = [];
    const all = new Promise<void>((resolve) =>
      ws.addEventListener('message', (event) => {
        got.push((event as MessageEvent).data as string);
        if (got.length === 50) resolve();
      }),
    );
    const [connection] = server.clients;
    server.cork(() => {
      for (let i = 0; i < 50; i += 1) server.broadcast(`m${i}`);
      // Held back until the callback returns: all 50 frames (2-byte header + "mN") wait here.
      const frames = Array.from({ length: 50 }, (_, i) => 2 + `m${i}`.length).reduce((a, b) => a + b, 0);
      assert.equal(connection!.bufferedAmount, frames);
    });
    await within(all, 5000, '50 messages');
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `m${i}`));
  });

  it(`${rt.name}: malformed heads get 4xx, a silent peer is dropped after the handshake timeout`, async () => {
    const server = await serve({ handshakeTimeout: 200 });
    const garbage = await raw(server.port);
    garbage.write('GET / HTTP/1.1\nHost: x\n\n');
    await garbage.until((p) => p.text.includes('\r\n\r\n'), 5000, '400');
    assert.match(garbage.text, /^HTTP\/1\.1 400 /);

    const silent = await raw(server.port);
    await silent.until((p) => p.text.includes('\r\n\r\n'), 5000, '408');
    assert.match(silent.text, /^HTTP\/1\.1 408 /);
    await silent.whenClosed(3000);
  });

  it(`${rt.name}: maxPayload closes with 1009, counted after inflation`, async () => {
    const server = await serve({ maxPayload: 1000, perMessageDeflate: true });
    const codes: number[] = [];
    server.on('connection', (socket) => socket.on('close', (code) => codes.push(code)));
    const plain = await client(`ws://127.0.0.1:${server.port}/`);
    plain.send(new Uint8Array(1001));
    const closed = await nextEvent<CloseEvent>(plain, 'close');
    assert.equal(closed.code, 1009);

    // A decompression bomb: 8 MiB of zeros in about 8 KiB of DEFLATE.
    const bomb = await raw(server.port);
    bomb.write(upgradeRequest('/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n'));
    await bomb.until((p) => headEnd(p.received) > 0, 5000, '101');
    assert.match(bomb.text, /permessage-deflate/);
    const compressed = deflateRawSync(new Uint8Array(8 * 1024 * 1024));
    const frame = clientFrame(0x2, compressed.subarray(0, compressed.byteLength));
    frame[0] = (frame[0] as number) | 0x40; // RSV1: compressed
    bomb.write(frame);
    await bomb.until((p) => serverFrames(p.received.subarray(headEnd(p.received))).some((f) => f.opcode === 0x8), 5000, 'close frame');
    const close = serverFrames(bomb.received.subarray(headEnd(bomb.received))).find((f) => f.opcode === 0x8);
    assert.ok(close);
    assert.equal(((close.payload[0] as number) << 8) | (close.payload[1] as number), 1009);
    await waitFor(() => codes.length === 2, 5000, 'server close events');
  });

  it(`${rt.name}: permessage-deflate between our client and our server`, async () => {
    const server = await serve({ perMessageDeflate: { threshold: 0 } });
    echo(server);
    const ws = await client(`ws://127.0.0.1:${server.port}/`, undefined, { perMessageDeflate: { threshold: 0 } });
    assert.match(ws.extensions, /permessage-deflate/);
    const received = messages(ws);
    const big = 'switchyard '.repeat(50_000);
    ws.send(big);
    ws.send('small');
    ws.send(encoder.encode(big));
    await waitFor(() => received.length === 3, 10_000, 'compressed echoes');
    assert.equal(received[0], big);
    assert.equal(received[1], 'small');
    assert.equal(decoder.decode(received[2] as ArrayBuffer), big);
  });

  it(`${rt.name}: a peer that never reads: send reports queued, then the high-water policy applies`, async () => {
    const server = await serve({ highWaterMark: 256 * 1024, highWaterPolicy: 'drop' });
    const statuses: string[] = [];
    let buffered = 0;
    let socket: WebSocketConnection | undefined;
    server.on('connection', (s) => {
      socket = s as WebSocketConnection;
    });
    const peer = await raw(server.port);
    peer.socket.pause();
    peer.write(upgradeRequest());
    await waitFor(() => socket !== undefined, 5000, 'connection');
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 400; i++) {
      const result = (socket as WebSocketConnection).send(chunk);
      statuses.push(result.status);
      buffered = Math.max(buffered, result.bufferedAmount);
    }
    assert.equal(statuses[0], 'written');
    assert.ok(statuses.includes('queued'), 'some sends were queued');
    assert.ok(statuses.includes('dropped'), 'the high-water mark refused some sends');
    // Memory stays bounded: the mark plus one message (the kernel holds the rest).
    assert.ok(buffered <= 256 * 1024 + 64 * 1024, `buffered ${buffered}`);
    const flushed = (socket as WebSocketConnection).flush();
    peer.socket.resume();
    await within(flushed, 10_000, 'flush after the peer reads');
    assert.equal((socket as WebSocketConnection).bufferedAmount, 0);
  });

  it(`${rt.name}: close-1013 policy closes a connection whose reader is too slow`, async () => {
    const server = await serve({ highWaterMark: 128 * 1024 });
    let socket: WebSocketConnection | undefined;
    const codes: number[] = [];
    server.on('connection', (s) => {
      socket = s as WebSocketConnection;
      s.on('close', (code) => codes.push(code));
    });
    const peer = await raw(server.port);
    peer.socket.pause();
    peer.write(upgradeRequest());
    await waitFor(() => socket !== undefined, 5000, 'connection');
    let last = '';
    for (let i = 0; i < 200 && last !== 'dropped'; i++) last = (socket as WebSocketConnection).send(new Uint8Array(64 * 1024)).status;
    assert.equal(last, 'dropped');
    assert.notEqual((socket as WebSocketConnection).readyState, 'open');
    peer.socket.resume();
    await waitFor(() => codes.length === 1, 5000, 'close');
  });

  it(`${rt.name}: heartbeat terminates a peer that stops answering pings`, async () => {
    const server = await serve({ heartbeatInterval: 100, heartbeatTimeout: 150 });
    const closes: Array<[number, boolean]> = [];
    server.on('connection', (socket) => socket.on('close', (code, _reason, wasClean) => closes.push([code, wasClean])));
    // A well-behaved client answers pings (its pongs keep it alive).
    const alive = await client(`ws://127.0.0.1:${server.port}/`);
    // A half-open peer: it completes the handshake, then never says anything again.
    const silent = await raw(server.port);
    silent.write(upgradeRequest());
    await silent.until((p) => headEnd(p.received) > 0, 5000, '101');
    await silent.until((p) => serverFrames(p.received.subarray(headEnd(p.received))).some((f) => f.opcode === 0x9), 5000, 'ping');
    await silent.whenClosed(5000);
    await waitFor(() => closes.length === 1, 5000, 'server-side close');
    assert.deepEqual(closes[0], [1006, false]);
    assert.equal(alive.readyState, 1);
  });

  it(`${rt.name}: the heartbeat does not ping a peer while the application has paused reading`, async () => {
    const server = await serve({ heartbeatInterval: 100, heartbeatTimeout: 100 });
    let socket: WebSocketConnection | undefined;
    server.on('connection', (s) => {
      if (socket !== undefined) return;
      socket = s as WebSocketConnection;
      s.pause();
    });
    const peer = await raw(server.port);
    peer.write(upgradeRequest());
    await peer.until((p) => headEnd(p.received) > 0, 5000, '101');
    // A control connection that reads but never answers pings: once the heartbeat has pinged it
    // and given up on it, the sweep has run over both connections for a full interval and timeout.
    const control = await raw(server.port);
    control.write(upgradeRequest());
    await control.until((p) => headEnd(p.received) > 0, 5000, 'control 101');
    await control.whenClosed(5000);
    assert.ok(serverFrames(control.received.subarray(headEnd(control.received))).some((f) => f.opcode === 0x9), 'the control was pinged');
    assert.deepEqual(serverFrames(peer.received.subarray(headEnd(peer.received))), []);
    assert.equal(socket?.readyState, 'open');
    (socket as WebSocketConnection).resume();
    await peer.until((p) => serverFrames(p.received.subarray(headEnd(p.received))).some((f) => f.opcode === 0x9), 5000, 'ping after resume');
  });

  it(`${rt.name}: close timeout destroys a peer that never answers the close frame`, async () => {
    const server = await serve({ closeTimeout: 200 });
    let socket: WebSocketConnection | undefined;
    const closes: Array<[number, boolean]> = [];
    server.on('connection', (s) => {
      socket = s as WebSocketConnection;
      s.on('close', (code, _reason, wasClean) => closes.push([code, wasClean]));
    });
    const peer = await raw(server.port);
    peer.write(upgradeRequest());
    await waitFor(() => socket !== undefined, 5000, 'connection');
    const started = Date.now();
    (socket as WebSocketConnection).close(1000, 'bye');
    await peer.whenClosed(3000);
    await waitFor(() => closes.length === 1, 3000, 'close event');
    assert.ok(Date.now() - started >= 150, 'waited for the close timeout');
    assert.equal(closes[0]?.[1], false);
  });

  it(`${rt.name}: graceful shutdown sends 1001, flushes what was sent and frees the port`, async () => {
    const server = new rt.WebSocketServer({ host: '127.0.0.1', port: 0 });
    await rt.listening?.(server as BaseWebSocketServer<unknown>);
    server.on('connection', (socket) => socket.on('message', () => socket.send('last words')));
    const ws = await client(`ws://127.0.0.1:${server.port}/`);
    const received = messages(ws);
    ws.send('hello');
    await waitFor(() => received.length === 1, 5000, 'reply');
    const closing = nextEvent<CloseEvent>(ws, 'close');
    const port = server.port;
    await within(server.close(), 5000, 'server.close()');
    const closed = await closing;
    assert.equal(closed.code, 1001);
    assert.equal(received[0], 'last words');
    // The port is free again.
    const again = new rt.WebSocketServer({ host: '127.0.0.1', port });
    servers.push(again as BaseWebSocketServer<unknown>);
    await rt.listening?.(again as BaseWebSocketServer<unknown>);
    assert.equal(again.port, port);
  });

  it(`${rt.name}: read backpressure: a slow onMessage handler pauses reading until it catches up`, async () => {
    const server = await serve({ maxQueuedMessages: 4 });
    let socket: WebSocketConnection | undefined;
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    let pausedSeen = false;
    server.on('connection', (s) => {
      socket = s as WebSocketConnection;
      s.onMessage(async (data) => {
        if (s.readPaused) pausedSeen = true;
        await gate;
        handled.push(data as string);
      });
    });
    const ws = await client(`ws://127.0.0.1:${server.port}/`);
    for (let i = 0; i < 50; i++) ws.send(`m${i}`);
    await waitFor(() => (socket?.readPaused ?? false) === true, 5000, 'reading paused');
    pausedSeen = true;
    (release as () => void)();
    await waitFor(() => handled.length === 50, 5000, 'all handled in order');
    assert.deepEqual(handled, Array.from({ length: 50 }, (_, i) => `m${i}`));
    assert.equal(pausedSeen, true);
    assert.equal(socket?.readPaused, false);
  });

  it(`${rt.name}: idleTimeout closes a connection that sends no message with 1001`, async () => {
    const server = await serve({ idleTimeout: 150 });
    echo(server);
    const quiet = await client(`ws://127.0.0.1:${server.port}/`);
    const talkative = await client(`ws://127.0.0.1:${server.port}/`);
    const timer = setInterval(() => talkative.send('still here'), 40);
    try {
      const closed = await nextEvent<CloseEvent>(quiet, 'close', 3000);
      assert.equal(closed.code, 1001);
      assert.equal(talkative.readyState, 1);
    } finally {
      clearInterval(timer);
    }
  });

  it(`${rt.name}: the queue policy buffers past the high-water mark up to maxBufferedAmount, then drops`, async () => {
    const server = await serve({ highWaterMark: 128 * 1024, highWaterPolicy: 'queue', maxBufferedAmount: 512 * 1024 });
    let socket: WebSocketConnection | undefined;
    const crossings: number[] = [];
    server.on('connection', (s) => {
      socket = s as WebSocketConnection;
      s.on('highWaterMark', (buffered) => crossings.push(buffered));
    });
    const peer = await raw(server.port);
    peer.socket.pause();
    peer.write(upgradeRequest());
    await waitFor(() => socket !== undefined, 5000, 'connection');
    const statuses = new Set<string>();
    let maxBuffered = 0;
    for (let i = 0; i < 400; i++) {
      const result = (socket as WebSocketConnection).send(new Uint8Array(64 * 1024));
      statuses.add(result.status);
      maxBuffered = Math.max(maxBuffered, result.bufferedAmount);
    }
    assert.ok(statuses.has('queued') && statuses.has('dropped'), [...statuses].join(','));
    assert.equal(crossings.length, 1);
    assert.ok(maxBuffered <= 512 * 1024, `buffered ${maxBuffered}`);
    assert.equal((socket as WebSocketConnection).readyState, 'open');
    await assert.rejects((socket as WebSocketConnection).sendAsync(new Uint8Array(64 * 1024)), (error: unknown) => (error as Error).name === 'SendError');
  });

  it(`${rt.name}: broadcast writes one prepared frame to every client`, async () => {
    const server = await serve();
    const clients = await Promise.all([0, 1, 2].map(() => client(`ws://127.0.0.1:${server.port}/`)));
    await waitFor(() => server.clients.size === 3, 5000, 'three connections');
    const inboxes = clients.map((ws) => messages(ws));
    assert.equal(server.broadcast('to everyone'), 3);
    assert.equal(server.broadcast(prepareMessage(Uint8Array.of(7, 7))), 3);
    await waitFor(() => inboxes.every((inbox) => inbox.length === 2), 5000, 'broadcasts');
    for (const inbox of inboxes) {
      assert.equal(inbox[0], 'to everyone');
      assert.deepEqual([...new Uint8Array(inbox[1] as ArrayBuffer)], [7, 7]);
    }
    // A filter keeps all but one connection; a last broadcast to all marks the end of the stream.
    const [excluded] = server.clients;
    assert.equal(server.broadcast('filtered', (connection) => connection !== excluded), 2);
    assert.equal(server.broadcast('end'), 3);
    await waitFor(() => inboxes.every((inbox) => inbox[inbox.length - 1] === 'end'), 5000, 'end marker');
    const tails = inboxes.map((inbox) => inbox.slice(2).join(' ')).sort();
    assert.deepEqual(tails, ['end', 'filtered end', 'filtered end']);
  });

  it(`${rt.name}: protocol violations close with the codec's code (1002 for an unmasked frame)`, async () => {
    const server = await serve();
    const errors: string[] = [];
    server.on('connection', (socket) => socket.on('error', (error) => errors.push(error.name)));
    const peer = await raw(server.port);
    peer.write(upgradeRequest());
    await peer.until((p) => headEnd(p.received) > 0, 5000, '101');
    peer.write(Uint8Array.of(0x81, 0x02, 0x68, 0x69)); // unmasked "hi"
    await peer.until((p) => serverFrames(p.received.subarray(headEnd(p.received))).some((f) => f.opcode === 0x8), 5000, 'close');
    const close = serverFrames(peer.received.subarray(headEnd(peer.received))).find((f) => f.opcode === 0x8);
    assert.equal(((close?.payload[0] as number) << 8) | (close?.payload[1] as number), 1002);
    await waitFor(() => errors.length === 1, 5000, 'error event');
    assert.equal(errors[0], 'WebSocketProtocolError');
  });

  /** Frames the server sent after its 101 response. */
  function framesFrom(peer: RawPeer): Array<{ opcode: number; payload: Uint8Array }> {
    return serverFrames(peer.received.subarray(headEnd(peer.received)));
  }

  /** A raw peer past the handshake with an echo server, writing each of its frames at once (no Nagle delay). */
  async function rawEchoPeer(): Promise<RawPeer> {
    const server = await serve();
    echo(server);
    const peer = await raw(server.port);
    peer.socket.setNoDelay(true);
    peer.write(upgradeRequest());
    await peer.until((p) => headEnd(p.received) > 0, 5000, '101');
    return peer;
  }

  it(`${rt.name}: a message before a protocol violation is echoed before the close frame, however the bytes are split`, async () => {
    // Autobahn 3.2, 4.1.3 and 5.15: a valid message, a bad frame, a ping, back to back.
    const reservedBits = clientFrame(0x1, 'bad');
    reservedBits[0] = (reservedBits[0] as number) | 0x20;
    const violations = [reservedBits, clientFrame(0x3, ''), clientFrame(0x0, 'orphan')];
    for (const violation of violations) {
      const stream = concatBytes([clientFrame(0x1, 'Hello, world!'), violation, clientFrame(0x9, 'ping')]);
      // One write; cut inside the message; cut inside the bad frame; one byte a write near the bad frame.
      const message = clientFrame(0x1, 'Hello, world!').byteLength;
      const splits = [[], [5], [message + 3], [message - 1, message, message + 1, message + 2]];
      for (const cuts of splits) {
        const peer = await rawEchoPeer();
        let start = 0;
        for (const end of [...cuts, stream.byteLength]) {
          peer.write(stream.subarray(start, end));
          start = end;
          // The pieces travel as separate TCP segments and reach the server as separate reads.
          if (end < stream.byteLength) await sleep(20);
        }
        await peer.until((p) => framesFrom(p).some((f) => f.opcode === 0x8), 5000, 'close');
        const frames = framesFrom(peer);
        assert.deepEqual(
          frames.map((f) => f.opcode),
          [0x1, 0x8],
          `echo then close (cuts ${cuts.join(',') || 'none'})`,
        );
        assert.equal(decoder.decode(frames[0]?.payload), 'Hello, world!');
        assert.equal(((frames[1]?.payload[0] as number) << 8) | (frames[1]?.payload[1] as number), 1002);
        peer.destroy();
      }
    }
  });

  it(`${rt.name}: invalid UTF-8 inside a text frame fails right after the read that carries it`, async () => {
    // Autobahn 6.4.3: one text frame in three writes; the second holds F4 90 80 80 (above U+10FFFF).
    const payload = concatBytes([encoder.encode('κόσμε'), Uint8Array.of(0xf4, 0x90, 0x80, 0x80), encoder.encode('edited')]);
    const frame = clientFrame(0x1, payload);
    const header = frame.byteLength - payload.byteLength;
    const peer = await rawEchoPeer();
    peer.write(frame.subarray(0, header + 11));
    await sleep(20);
    peer.write(frame.subarray(header + 11, header + 15));
    // The third piece is never sent: the server must fail on what it has.
    await peer.until((p) => framesFrom(p).some((f) => f.opcode === 0x8), 5000, 'close after the second piece');
    const frames = framesFrom(peer);
    assert.deepEqual(
      frames.map((f) => f.opcode),
      [0x8],
    );
    assert.equal(((frames[0]?.payload[0] as number) << 8) | (frames[0]?.payload[1] as number), 1007);
    peer.destroy();
  });

  it(`${rt.name}: rate limit closes with 1008`, async () => {
    const server = await serve({ rateLimit: { messagesPerSecond: 5, burst: 5 } });
    echo(server);
    const ws = await client(`ws://127.0.0.1:${server.port}/`);
    for (let i = 0; i < 20; i++) ws.send(`m${i}`);
    const closed = await nextEvent<CloseEvent>(ws, 'close');
    assert.equal(closed.code, 1008);
  });

  it(`${rt.name}: once the rate limit is passed nothing more is delivered, even after tokens refill`, async () => {
    const server = await serve({ rateLimit: { messagesPerSecond: 20, burst: 3 } });
    const delivered: string[] = [];
    const closed = new Promise<number>((resolve) =>
      server.on('connection', (socket) => {
        socket.on('message', (data) => delivered.push(String(data)));
        socket.on('close', () => resolve(delivered.length));
      }),
    );
    const peer = await raw(server.port);
    peer.write(upgradeRequest());
    await peer.until((p) => headEnd(p.received) > 0, 5000, '101');
    for (let i = 0; i < 4; i++) peer.write(clientFrame(0x1, `m${i}`));
    await peer.until((p) => serverFrames(p.received.subarray(headEnd(p.received))).some((f) => f.opcode === 0x8), 5000, 'close 1008');
    // Long enough for the bucket to hold tokens again; the server's close is not answered yet.
    await sleep(250);
    for (let i = 4; i < 7; i++) peer.write(clientFrame(0x1, `m${i}`));
    // Frames are handled in order: when the close event fires, the late messages were seen.
    peer.write(clientFrame(0x8, Uint8Array.of(0x03, 0xe8)));
    assert.equal(await within(closed, 5000, 'server close event'), 3);
    assert.deepEqual(delivered, ['m0', 'm1', 'm2']);
  });

  it(`${rt.name}: the close reply echoes the peer's code (4321), not 1000`, async () => {
    const server = await serve();
    const codes: number[] = [];
    server.on('connection', (socket) => socket.on('close', (code) => codes.push(code)));
    const peer = await raw(server.port);
    peer.write(upgradeRequest());
    await peer.until((p) => headEnd(p.received) > 0, 5000, '101');
    peer.write(clientFrame(0x8, Uint8Array.of(0x10, 0xe1, 0x62, 0x79, 0x65))); // 4321 "bye"
    await peer.until((p) => serverFrames(p.received.subarray(headEnd(p.received))).some((f) => f.opcode === 0x8), 5000, 'close reply');
    const reply = serverFrames(peer.received.subarray(headEnd(peer.received))).find((f) => f.opcode === 0x8);
    assert.equal(((reply?.payload[0] as number) << 8) | (reply?.payload[1] as number), 4321);
    await waitFor(() => codes.length === 1, 5000, 'server close event');
    assert.deepEqual(codes, [4321]);
  });

  it(`${rt.name}: a ping flood from a peer that never reads its pongs holds a bounded buffer`, async () => {
    const server = await serve();
    let connection: WebSocketConnection<unknown> | undefined;
    let pings = 0;
    server.on('connection', (socket) => {
      connection = socket as WebSocketConnection<unknown>;
      socket.on('ping', () => void (pings += 1));
    });
    const peer = await raw(server.port);
    peer.write(upgradeRequest());
    await peer.until((p) => headEnd(p.received) > 0, 5000, '101');
    peer.socket.pause();
    // 125-byte pings: each pong is as large as its ping, so 32 MiB of pings would be ~32 MiB of
    // pongs held for a peer that reads none of them, past every kernel buffer on loopback.
    const ping = clientFrame(0x9, new Uint8Array(125));
    const chunk = new Uint8Array(ping.byteLength * 500);
    for (let i = 0; i < 500; i++) chunk.set(ping, i * ping.byteLength);
    let maxBuffered = 0;
    const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, connection?.bufferedAmount ?? 0)), 5);
    const deadline = Date.now() + 3000;
    try {
      for (let written = 0; written < 32 * 1024 * 1024 && Date.now() < deadline; written += chunk.byteLength) {
        if (!peer.socket.write(chunk)) {
          await Promise.race([new Promise((resolve) => peer.socket.once('drain', resolve)), sleep(Math.max(1, deadline - Date.now()))]);
        }
      }
    } finally {
      clearInterval(sampler);
    }
    maxBuffered = Math.max(maxBuffered, connection?.bufferedAmount ?? 0);
    assert.ok(pings > 20_000, `the flood reached the server (${pings} pings)`);
    assert.ok(maxBuffered < 2 * 1024 * 1024, `at most ~1 MiB of pongs held for the peer, saw ${maxBuffered} bytes`);
  });

  it(`${rt.name}: a burst of 1,000 pings from a peer that reads gets 1,000 pongs and stays connected`, async () => {
    const server = await serve();
    const peer = await raw(server.port);
    peer.write(upgradeRequest());
    await peer.until((p) => headEnd(p.received) > 0, 5000, '101');
    const ping = clientFrame(0x9, 'are you there');
    const burst = new Uint8Array(ping.byteLength * 1000);
    for (let i = 0; i < 1000; i++) burst.set(ping, i * ping.byteLength);
    peer.write(burst);
    const pongs = (p: RawPeer): number => serverFrames(p.received.subarray(headEnd(p.received))).filter((f) => f.opcode === 0xa).length;
    await peer.until((p) => pongs(p) === 1000, 10_000, '1,000 pongs');
    peer.write(clientFrame(0x1, 'still here'));
    assert.equal(serverFrames(peer.received.subarray(headEnd(peer.received))).some((f) => f.opcode === 0x8), false);
    assert.equal(peer.closed, false);
  });

  it(`${rt.name}: a peer that takes none of our bytes is cut after writeStallTimeout`, async () => {
    const server = await serve({ writeStallTimeout: 300 });
    const outcome = new Promise<{ code: number; errors: string[] }>((resolve) =>
      server.on('connection', (socket) => {
        const errors: string[] = [];
        socket.on('error', (error) => errors.push((error as Error & { code?: string }).code ?? error.name));
        socket.on('close', (code) => resolve({ code, errors }));
        // More than every kernel buffer on loopback holds, to a peer that never reads.
        for (let i = 0; i < 24; i++) socket.send(new Uint8Array(512 * 1024));
      }),
    );
    const peer = await raw(server.port);
    peer.socket.pause();
    peer.write(upgradeRequest());
    const { code, errors } = await within(outcome, 8000, 'close after the write stall');
    assert.equal(code, 1006);
    assert.ok(errors.includes('ERR_WEBSOCKET_WRITE_STALL'), `errors: ${errors.join(', ')}`);
  });

  it(`${rt.name}: the server keeps accepting after a storm of connections reset at once`, async () => {
    const server = await serve();
    echo(server);
    const storm = async (): Promise<void> => {
      const socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => {
        socket.once('connect', () => resolve());
        socket.once('close', () => resolve());
      });
      const reset = (socket as net.Socket & { resetAndDestroy?: () => void }).resetAndDestroy;
      if (typeof reset === 'function') reset.call(socket);
      else socket.destroy();
    };
    for (let round = 0; round < 20; round++) await Promise.all(Array.from({ length: 25 }, storm));
    const ws = await client(`ws://127.0.0.1:${server.port}/`);
    ws.send('still accepting');
    const echoed = await nextEvent<MessageEvent>(ws, 'message');
    assert.equal(echoed.data, 'still accepting');
  });

  it(`${rt.name}: one upgrade-request policy: conflicting body framing gets 400, a 10 KiB header line is accepted`, async () => {
    const server = await serve();
    const statusOf = async (extra: string): Promise<string> => {
      const peer = await raw(server.port);
      peer.write(upgradeRequest('/', extra));
      await peer.until((p) => p.text.includes('\r\n\r\n') || p.closed, 5000, 'an answer');
      return peer.text.slice(0, 12);
    };
    assert.equal(await statusOf('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n'), 'HTTP/1.1 400');
    assert.equal(await statusOf('Content-Length: 0\r\nContent-Length: 5\r\n'), 'HTTP/1.1 400');
    assert.equal(await statusOf(`X-Long: ${'a'.repeat(10 * 1024)}\r\n`), 'HTTP/1.1 101');
  });

  if (rt.ownsHttp) it(`${rt.name}: wss:// with a certificate made at test time`, async () => {
    const { cert, key, ca } = await makeCertificate();
    const server = await serve({ tls: { cert, key } });
    echo(server);
    const ws = await client(`wss://localhost:${server.port}/`, undefined, { tls: { ca } });
    ws.send('over tls');
    const echoed = await nextEvent<MessageEvent>(ws, 'message');
    assert.equal(echoed.data, 'over tls');
    ws.close();
    await nextEvent(ws, 'close');
  });

  it(`${rt.name}: the WHATWG client reports handshake failures as error then close 1006, and refuses redirects`, async () => {
    // A server that answers every upgrade with a redirect.
    const redirecting = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n'));
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    peers.push({ close: () => redirecting.close() });
    const port = (redirecting.address() as net.AddressInfo).port;
    const ws = new rt.WebSocket(`ws://127.0.0.1:${port}/`);
    peers.push(ws);
    const order: string[] = [];
    ws.addEventListener('error', () => order.push('error'));
    ws.onclose = (event) => order.push(`close ${event.code} ${event.wasClean}`);
    await waitFor(() => order.length === 2, 5000, 'error and close');
    assert.deepEqual(order, ['error', 'close 1006 false']);
    assert.equal(ws.readyState, 3);
    // Sending on a closed socket is not an error (WHATWG); the bytes are counted as buffered.
    ws.send('late');
    assert.equal(ws.bufferedAmount, 4);
    assert.throws(() => new rt.WebSocket('ftp://127.0.0.1/'), (error: unknown) => error instanceof DOMException && error.name === 'SyntaxError');
    const connecting = new rt.WebSocket(`ws://127.0.0.1:${port}/`);
    peers.push(connecting);
    assert.throws(() => connecting.send('too early'), (error: unknown) => error instanceof DOMException && error.name === 'InvalidStateError');
  });
}
