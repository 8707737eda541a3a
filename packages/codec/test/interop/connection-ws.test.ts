/**
 * The Connection against a real peer over loopback TCP: `ws` as client of a codec echo server,
 * and `ws` as server of a codec client.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type ClientOptions, type RawData } from 'ws';
import { Connection, HttpHeadParser, buildUpgradeRequest, validateUpgradeResponse, type ConnectionEvent, type HttpResponseHead } from '@switchyard/codec';
import { startEchoServer, view, type Cleanup } from './connection-echo-server.js';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openWs(url: string, options: ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
  cleanups.push(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

const nextMessage = (ws: WebSocket) =>
  new Promise<{ data: RawData; isBinary: boolean }>((resolve) => ws.once('message', (data, isBinary) => resolve({ data, isBinary })));
const closed = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
const bytesOf = (data: RawData): Uint8Array => view(data as Uint8Array);

describe('a ws client and a codec server', () => {
  it('exchange text, binary, fragmented messages and pings, then close at the client', async () => {
    const server = await startEchoServer(cleanups);
    const ws = await openWs(server.url);

    ws.send('héllo wörld ✓');
    expect(await nextMessage(ws)).toMatchObject({ isBinary: false });

    const big = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
    const echoed = nextMessage(ws);
    ws.send(big);
    const reply = await echoed;
    expect(reply.isBinary).toBe(true);
    expect(Buffer.compare(bytesOf(reply.data), big)).toBe(0);

    const fragmented = nextMessage(ws);
    ws.send('frag', { fin: false });
    ws.send('ment', { fin: false });
    ws.send('ed', { fin: true });
    expect((await fragmented).data.toString()).toBe('fragmented');

    const pong = new Promise<string>((resolve) => ws.once('pong', (data) => resolve(data.toString())));
    ws.ping('are you there');
    expect(await pong).toBe('are you there');

    const done = closed(ws);
    ws.close(4001, 'bye');
    expect(await done).toEqual({ code: 4001, reason: '' });
    const log = server.logs[0]!;
    expect(log.filter((e) => e.type === 'text').map((e) => e.data)).toEqual(['héllo wörld ✓', 'fragmented']);
    expect(log.filter((e) => e.type === 'ping')).toHaveLength(1);
    expect(log.at(-1)).toEqual({ type: 'close', code: 4001, reason: 'bye', wasClean: true, initiator: 'remote' });
    expect(server.connections[0]!.transportAction).toBe('end-transport');
  });

  it('close at the server: ws sees the code and reason, and the server ends TCP after the reply', async () => {
    const server = await startEchoServer(cleanups);
    const ws = await openWs(server.url);
    ws.send('x');
    await nextMessage(ws);
    const done = closed(ws);
    server.act(0, (connection) => {
      connection.close(1001, 'going away');
      expect(connection.transportAction).toBe('await-close');
    });
    expect(await done).toEqual({ code: 1001, reason: 'going away' });
    expect(server.connections[0]!.transportAction).toBe('end-transport');
    // ws echoes the code and the reason in its reply.
    expect(server.logs[0]!.at(-1)).toEqual({ type: 'close', code: 1001, reason: 'going away', wasClean: true, initiator: 'local' });
  });

  it('negotiates permessage-deflate without context takeover and exchanges compressed messages', async () => {
    const server = await startEchoServer(cleanups, { perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true } });
    const ws = await openWs(server.url, { perMessageDeflate: { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true } });
    expect(ws.extensions).toContain('permessage-deflate');
    const text = 'compress me '.repeat(2000);
    const first = nextMessage(ws);
    ws.send(text);
    expect((await first).data.toString()).toBe(text);
    const bytes = new Uint8Array(50_000).map((_, i) => i % 251);
    const second = nextMessage(ws);
    ws.send(bytes);
    expect(Buffer.compare(bytesOf((await second).data), bytes)).toBe(0);
    const done = closed(ws);
    ws.close(1000);
    expect((await done).code).toBe(1000);
    expect(server.logs[0]!.map((e) => e.type)).toEqual(['text', 'binary', 'close']);
  });

  it('a message over maxMessageSize from ws is refused with 1009', async () => {
    const server = await startEchoServer(cleanups);
    const ws = await openWs(server.url);
    const done = closed(ws);
    ws.send(new Uint8Array(64 * 1024 * 1024 + 1));
    expect((await done).code).toBe(1009);
    expect(server.logs[0]!.at(-1)).toMatchObject({ type: 'close', code: 1009, error: { kind: 'message-too-big' } });
  }, 30_000);
});

describe('a codec client and a ws server', () => {
  async function startWsServer(): Promise<{ url: string; received: string[] }> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    const received: string[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => {
        received.push(isBinary ? `binary:${(data as Uint8Array).length}` : data.toString());
        ws.send(data, { binary: isBinary });
      });
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const client of wss.clients) client.terminate();
          wss.close(() => resolve());
        }),
    );
    const { port } = wss.address() as net.AddressInfo;
    return { url: `ws://127.0.0.1:${port}/chat`, received };
  }

  it('opens, exchanges messages and pings, closes cleanly, and ends TCP after the server', async () => {
    const server = await startWsServer();
    const request = buildUpgradeRequest(server.url);
    const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    const parser = new HttpHeadParser('response');
    const connection = new Connection({ role: 'client' });
    const events: ConnectionEvent[] = [];
    let open = false;
    let ended = false;
    const flush = () => {
      events.push(...connection.takeEvents());
      for (const chunk of connection.takeOutput()) socket.write(chunk);
      if (connection.transportAction === 'end-transport') socket.end();
    };
    const settled = new Promise<void>((resolve, reject) => {
      socket.on('data', (chunk: Uint8Array) => {
        if (open) {
          connection.receive(view(chunk));
          flush();
          return;
        }
        const result = parser.push(view(chunk));
        if (result.status === 'incomplete') return;
        if (result.status === 'error') return reject(new Error(result.message));
        const verdict = validateUpgradeResponse(result.head as HttpResponseHead, { key: request.key });
        if (!verdict.ok) return reject(new Error(verdict.reason));
        open = true;
        if (result.rest.length > 0) connection.receive(result.rest);
        connection.sendText('hello ws');
        connection.sendBinary(new Uint8Array(100_000).fill(3), { fragmentSize: 16_384 });
        connection.ping('p');
        flush();
      });
      socket.on('end', () => {
        ended = true;
        connection.receiveEnd();
        flush();
        resolve();
      });
      socket.on('error', reject);
    });
    socket.write(request.bytes);

    // Close once both echoes are back.
    const closeWhenEchoed = setInterval(() => {
      if (events.filter((e) => e.type === 'text' || e.type === 'binary').length === 2 && connection.state === 'open') {
        connection.close(1000, 'done');
        flush();
      }
    }, 5);
    cleanups.push(() => clearInterval(closeWhenEchoed));
    await settled;

    expect(ended).toBe(true);
    expect(server.received).toEqual(['hello ws', 'binary:100000']);
    expect(events.map((e) => e.type)).toEqual(['text', 'binary', 'pong', 'close']);
    expect(events[0]).toEqual({ type: 'text', data: 'hello ws' });
    expect((events[1] as { data: Uint8Array }).data).toEqual(new Uint8Array(100_000).fill(3));
    expect(events.at(-1)).toEqual({ type: 'close', code: 1000, reason: 'done', wasClean: true, initiator: 'local' });
    expect(connection.transportAction).toBe('end-transport');
  });
});
