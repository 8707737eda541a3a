import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { computeAccept } from '@switchyard/codec';
import { CloseEvent, WebSocket, type WebSocketConnection } from '../src/index.js';
import { startServer, within } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function echoServer(options: Parameters<typeof startServer>[0] = {}) {
  const started = await startServer(options);
  started.server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  cleanups.push(() => started.server.close());
  return started;
}

function track(ws: WebSocket): WebSocket {
  cleanups.push(() => {
    if (ws.readyState === WebSocket.OPEN) ws.close();
  });
  return ws;
}

function event<E extends Event>(ws: WebSocket, type: string): Promise<E> {
  return within(new Promise<E>((resolve) => ws.addEventListener(type, (e) => resolve(e as E), { once: true })), 5000, type);
}

/** A raw TCP server that answers every request with `response` (then optionally sends `after`). */
async function rawServer(answer: (request: string) => string | Buffer, after?: Buffer): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let head = '';
    let answered = false;
    socket.on('data', (chunk) => {
      if (answered) return;
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      answered = true;
      socket.write(answer(head));
      if (after) socket.write(after);
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  cleanups.push(() => sockets.forEach((socket) => socket.destroy()));
  return (server.address() as AddressInfo).port;
}

function acceptFor(request: string): string {
  const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(request)?.[1] ?? '';
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`;
}

describe('WHATWG WebSocket: attributes and argument checks', () => {
  it('has the readyState constants on the class and on instances', async () => {
    const { url } = await echoServer();
    expect([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
    const ws = track(new WebSocket(url));
    expect([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED]).toEqual([0, 1, 2, 3]);
    expect(Object.keys(ws)).not.toContain('OPEN');
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    expect(ws.binaryType).toBe('blob');
    expect(ws.bufferedAmount).toBe(0);
    expect(ws.protocol).toBe('');
    expect(ws.extensions).toBe('');
    expect(ws.url).toBe(url);
    await event(ws, 'open');
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });

  it('throws SyntaxError for bad URLs and protocol lists, and maps http: to ws:', () => {
    const syntax = (fn: () => unknown) => expect(fn).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
    syntax(() => new WebSocket('not a url'));
    syntax(() => new WebSocket('ftp://127.0.0.1/'));
    syntax(() => new WebSocket('ws://127.0.0.1/#frag'));
    syntax(() => new WebSocket('ws://127.0.0.1:1/', ['a', 'a']));
    syntax(() => new WebSocket('ws://127.0.0.1:1/', 'has space'));
    const mapped = new WebSocket('http://127.0.0.1:1/x?y');
    mapped.onerror = () => undefined;
    expect(mapped.url).toBe('ws://127.0.0.1:1/x?y');
    mapped.close();
  });

  it('send while CONNECTING throws InvalidStateError', async () => {
    const { url } = await echoServer();
    const ws = track(new WebSocket(url));
    expect(() => ws.send('early')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    await event(ws, 'open');
  });

  it('close() checks the code (InvalidAccessError) before the reason (SyntaxError)', async () => {
    const { url } = await echoServer();
    const ws = track(new WebSocket(url));
    await event(ws, 'open');
    for (const code of [999, 1001, 1005, 2999, 5000]) {
      expect(() => ws.close(code)).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
    }
    expect(() => ws.close(1001, 'x'.repeat(200))).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
    expect(() => ws.close(1000, 'é'.repeat(62))).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close(4000, 'é'.repeat(61));
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    const closed = await event<CloseEvent>(ws, 'close');
    // The close event reports the server's close frame, which echoes the code only.
    expect([closed.code, closed.reason, closed.wasClean]).toEqual([4000, '', true]);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it('after close, send adds to bufferedAmount and sends nothing', async () => {
    const { server, url } = await echoServer();
    const received: string[] = [];
    server.on('connection', (peer) => peer.on('message', (data) => received.push(String(data))));
    const ws = track(new WebSocket(url));
    await event(ws, 'open');
    ws.close();
    ws.send('12345');
    ws.send(new Uint8Array(10));
    expect(ws.bufferedAmount).toBe(15);
    await event(ws, 'close');
    ws.send('abc');
    expect(ws.bufferedAmount).toBe(18);
    expect(received).toEqual([]);
  });
});

describe('WHATWG WebSocket: events and data', () => {
  it('delivers Blob by default and ArrayBuffer on request; text as string; MessageEvent with origin', async () => {
    const { url } = await echoServer();
    const ws = track(new WebSocket(url));
    await event(ws, 'open');
    ws.send(Uint8Array.of(1, 2, 3));
    const asBlob = await event<MessageEvent>(ws, 'message');
    expect(asBlob).toBeInstanceOf(MessageEvent);
    expect(asBlob.origin).toBe(new URL(url).origin);
    expect(asBlob.data).toBeInstanceOf(Blob);
    expect([...new Uint8Array(await (asBlob.data as Blob).arrayBuffer())]).toEqual([1, 2, 3]);
    ws.binaryType = 'arraybuffer';
    ws.binaryType = 'nonsense' as 'blob';
    expect(ws.binaryType).toBe('arraybuffer');
    const later: MessageEvent[] = [];
    ws.addEventListener('message', (e) => later.push(e as MessageEvent));
    // The blob is read asynchronously; the string sent after it must still arrive after it.
    ws.send(new Blob([Uint8Array.of(4, 5)]));
    ws.send('after the blob');
    await within(new Promise<void>((resolve) => { const t = setInterval(() => later.length === 2 && (clearInterval(t), resolve()), 5); }), 3000, 'two messages');
    expect(later[0]?.data).toBeInstanceOf(ArrayBuffer);
    expect([...new Uint8Array(later[0]?.data as ArrayBuffer)]).toEqual([4, 5]);
    expect(later[1]?.data).toBe('after the blob');
  });

  it('event handler attributes and listeners both fire, in registration order, with this = the socket', async () => {
    const { url } = await echoServer();
    const ws = track(new WebSocket(url));
    const order: string[] = [];
    ws.addEventListener('open', () => order.push('listener 1'));
    ws.onopen = function (this: WebSocket) {
      order.push(this === ws ? 'handler' : 'wrong this');
    };
    ws.addEventListener('open', () => order.push('listener 2'));
    const replaced = () => order.push('replaced handler');
    ws.onopen = replaced;
    expect(ws.onopen).toBe(replaced);
    await event(ws, 'open');
    expect(order).toEqual(['listener 1', 'replaced handler', 'listener 2']);
    ws.onmessage = null;
    expect(ws.onmessage).toBeNull();
  });

  it('a refused handshake fires error then close (1006, not clean) and ends CLOSED', async () => {
    const port = await rawServer(() => 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const order: string[] = [];
    ws.onerror = () => order.push('error');
    ws.onopen = () => order.push('open');
    const closed = await event<CloseEvent>(ws, 'close');
    expect(order).toEqual(['error']);
    expect([closed.code, closed.wasClean]).toEqual([1006, false]);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });

  it('refuses redirects by default and follows them with maxRedirects', async () => {
    const { url } = await echoServer();
    const port = await rawServer(() => `HTTP/1.1 302 Found\r\nLocation: ${url}\r\nContent-Length: 0\r\n\r\n`);
    const refused = new WebSocket(`ws://127.0.0.1:${port}/`);
    const errors: string[] = [];
    refused.onerror = (e) => errors.push((e as unknown as { message: string }).message);
    await event(refused, 'close');
    expect(errors[0]).toMatch(/redirect/);
    const followed = track(new WebSocket(`ws://127.0.0.1:${port}/`, [], { maxRedirects: 1 }));
    await event(followed, 'open');
    expect(followed.url).toBe(url);
  });

  it('close() while CONNECTING fails the connection: error, then close 1006', async () => {
    const port = await rawServer(() => '');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const order: string[] = [];
    ws.onerror = () => order.push('error');
    ws.close();
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    const closed = await event<CloseEvent>(ws, 'close');
    expect(order).toEqual(['error']);
    expect(closed.code).toBe(1006);
  });

  it('a server that breaks the protocol gets 1002 and the client fires error then close', async () => {
    // A masked frame from a server is a protocol error (RFC 6455 §5.1).
    const masked = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x68 ^ 1, 0x69 ^ 2]);
    const port = await rawServer(acceptFor, masked);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    const order: string[] = [];
    ws.onerror = () => order.push('error');
    ws.onmessage = () => order.push('message');
    const closed = await event<CloseEvent>(ws, 'close');
    expect(order).toEqual(['error']);
    expect([closed.code, closed.wasClean]).toEqual([1002, false]);
  });

  it('handshakeTimeout fails a server that never answers', async () => {
    const port = await rawServer(() => '');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [], { handshakeTimeout: 100 });
    const errors: string[] = [];
    ws.onerror = (e) => errors.push((e as unknown as { message: string }).message);
    await event(ws, 'close');
    expect(errors[0]).toMatch(/100 ms/);
  });

  it('a send that cannot be buffered flags the socket full: error, then close (WHATWG)', async () => {
    // The server completes the handshake and never reads again.
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.once('data', (request) => {
        socket.pause();
        socket.write(acceptFor(request.toString('latin1')));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    cleanups.push(() => sockets.forEach((socket) => socket.destroy()));
    const port = (server.address() as AddressInfo).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [], { highWaterMark: 256 * 1024, highWaterPolicy: 'drop', closeTimeout: 200 });
    const order: string[] = [];
    ws.onerror = () => order.push('error');
    await event(ws, 'open');
    const closed = event<CloseEvent>(ws, 'close');
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 2000 && ws.readyState === WebSocket.OPEN; i++) {
      ws.send(chunk);
      if (i % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const result = await closed;
    expect(order).toEqual(['error']);
    // Our close frame could not get through the full buffers: the close timeout ended it.
    expect([result.code, result.wasClean]).toEqual([1006, false]);
  });

  it('sends Node-only headers, negotiates a subprotocol and reports extensions', async () => {
    const { server, url } = await echoServer({ protocols: ['v2', 'v1'], perMessageDeflate: true });
    const seen = new Promise<string | undefined>((resolve) =>
      server.once('connection', (_peer: WebSocketConnection, request: http.IncomingMessage) => resolve(request.headers.authorization)),
    );
    const ws = track(new WebSocket(url, ['v1', 'v2'], { headers: { Authorization: 'Bearer t' }, perMessageDeflate: true }));
    await event(ws, 'open');
    expect(await seen).toBe('Bearer t');
    expect(ws.protocol).toBe('v2');
    expect(ws.extensions).toMatch(/^permessage-deflate/);
    ws.send('z'.repeat(5000));
    const echoed = await event<MessageEvent>(ws, 'message');
    expect(echoed.data).toBe('z'.repeat(5000));
  });
});
