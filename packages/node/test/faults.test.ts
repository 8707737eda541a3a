// Faults a server meets in production: vanishing peers, peers that never answer or never read,
// half-open TCP, and a thousand connections at once.
import { once } from 'node:events';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { computeAccept } from '@switchyard/codec';
import { WebSocket, type CloseEvent, type WebSocketConnection, type WebSocketServerOptions } from '../src/index.js';
import { delay, startServer, upgradeRequest, waitUntil, within } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A server plus a raw TCP client that has completed the handshake and does nothing unless told. */
async function rawPeer(options: Omit<WebSocketServerOptions, 'port' | 'server' | 'noServer'> = {}) {
  const started = await startServer(options);
  cleanups.push(() => started.server.close());
  const connected = new Promise<WebSocketConnection>((resolve) => started.server.once('connection', resolve));
  const socket = net.connect(started.port, '127.0.0.1');
  socket.on('error', () => undefined);
  cleanups.push(() => socket.destroy());
  await once(socket, 'connect');
  socket.write(upgradeRequest());
  const [head] = (await once(socket, 'data')) as [Buffer];
  expect(head.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
  const peer = await within(connected, 3000, 'connection');
  const closed = new Promise<{ code: number; wasClean: boolean; at: number }>((resolve) =>
    peer.once('close', (code, _reason, wasClean) => resolve({ code, wasClean, at: Date.now() })),
  );
  return { ...started, socket, peer, closed };
}

/** A masked client frame. */
function clientFrame(opcode: number, payload: Uint8Array, fin = true): Buffer {
  const mask = [1, 2, 3, 4];
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)));
  const header = payload.length < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length]) : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  return Buffer.concat([header, Buffer.from(mask), masked]);
}

describe('faults', () => {
  it('peer vanishes mid-frame: close 1006 (not clean), the server keeps serving', async () => {
    const { socket, closed, url } = await rawPeer();
    const frame = clientFrame(0x2, new Uint8Array(100));
    socket.write(frame.subarray(0, 30));
    await delay(20);
    socket.destroy();
    const result = await within(closed, 3000, 'close');
    expect([result.code, result.wasClean]).toEqual([1006, false]);
    const next = new WebSocket(url);
    await within(new Promise((resolve) => (next.onopen = resolve)), 3000, 'still serving');
    next.close();
  });

  it('server vanishes mid-frame: our client reports close 1006, not clean', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', (request) => {
        const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(request.toString('latin1'))?.[1] ?? '';
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`);
        socket.write(Buffer.from([0x82, 100, 1, 2, 3]));
        setTimeout(() => socket.destroy(), 20);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const messages: unknown[] = [];
    ws.onmessage = (event) => messages.push(event.data);
    const event = await within(new Promise<CloseEvent>((resolve) => (ws.onclose = resolve)), 3000, 'close');
    expect([event.code, event.wasClean, messages.length]).toEqual([1006, false, 0]);
  });

  it('peer never answers our close: the socket is destroyed after closeTimeout', async () => {
    const { peer, closed } = await rawPeer({ closeTimeout: 150 });
    const started = Date.now();
    peer.close(1000, 'bye');
    expect(peer.readyState).toBe('closing');
    const result = await within(closed, 3000, 'close after timeout');
    expect(result.at - started).toBeGreaterThanOrEqual(140);
    expect(result.at - started).toBeLessThan(1500);
    expect([result.code, result.wasClean]).toEqual([1006, false]);
  });

  describe('peer never reads while we send: memory stays bounded', () => {
    const chunk = new Uint8Array(64 * 1024);
    const highWaterMark = 1024 * 1024;

    /** Sends until the first refusal; returns the last results and the largest buffered amount. */
    async function flood(peer: WebSocketConnection) {
      let maxBuffered = 0;
      for (let i = 0; i < 2000; i++) {
        const result = peer.send(chunk);
        maxBuffered = Math.max(maxBuffered, peer.bufferedAmount);
        if (result.status === 'dropped') return { result, maxBuffered, sent: i };
        if (i % 16 === 15) await delay(1); // let the kernel take what it will
      }
      throw new Error('2,000 × 64 KiB accepted by a peer that reads nothing');
    }

    it('drop: refuses sends above the high-water mark, keeps the connection', async () => {
      const { socket, peer } = await rawPeer({ highWaterMark, highWaterPolicy: 'drop' });
      socket.pause();
      const { result, maxBuffered } = await flood(peer);
      expect(result).toMatchObject({ status: 'dropped', reason: 'high-water-mark' });
      expect(maxBuffered).toBeLessThanOrEqual(highWaterMark + chunk.length);
      expect(peer.readyState).toBe('open');
    });

    it('close-1013 (the server default): refuses and closes; the socket goes after closeTimeout', async () => {
      const { socket, peer, closed } = await rawPeer({ highWaterMark, closeTimeout: 200 });
      socket.pause();
      const { result, maxBuffered } = await flood(peer);
      expect(result).toMatchObject({ status: 'dropped', reason: 'high-water-mark' });
      expect(maxBuffered).toBeLessThanOrEqual(highWaterMark + chunk.length);
      expect(peer.readyState).toBe('closing');
      expect((await within(closed, 3000, 'destroyed')).code).toBe(1006);
    });

    it('queue: accepts past the mark with a highWaterMark event, up to maxBufferedAmount', async () => {
      const { socket, peer } = await rawPeer({ highWaterMark, highWaterPolicy: 'queue', maxBufferedAmount: 4 * highWaterMark });
      socket.pause();
      const crossings: number[] = [];
      peer.on('highWaterMark', (amount) => crossings.push(amount));
      const before = process.memoryUsage().arrayBuffers;
      const { result, maxBuffered } = await flood(peer);
      expect(result).toMatchObject({ status: 'dropped', reason: 'high-water-mark' });
      expect(crossings.length).toBe(1);
      expect(maxBuffered).toBeGreaterThan(highWaterMark);
      expect(maxBuffered).toBeLessThanOrEqual(4 * highWaterMark + chunk.length);
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
    });
  });

  it('half-open TCP: a peer that stops answering pings is found by the heartbeat and terminated', async () => {
    const { socket, closed } = await rawPeer({ heartbeatInterval: 50, heartbeatTimeout: 100 });
    let pings = 0;
    socket.on('data', (chunk: Buffer) => {
      if (chunk[0] === 0x89) pings += 1;
    });
    const started = Date.now();
    const result = await within(closed, 3000, 'terminated by the heartbeat');
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(result.code).toBe(1006);
    expect(result.at - started).toBeGreaterThanOrEqual(100);
  });

  it('the heartbeat keeps a peer that answers pings, however silent', async () => {
    const { socket, peer } = await rawPeer({ heartbeatInterval: 30, heartbeatTimeout: 1000 });
    let pings = 0;
    socket.on('data', (chunk: Buffer) => {
      // The server pings again only once the previous ping was answered: one per chunk.
      if (chunk[0] !== 0x89) return;
      pings += 1;
      socket.write(clientFrame(0xa, chunk.subarray(2, 2 + (chunk[1] as number))));
    });
    await waitUntil(() => pings >= 4, 5000, 'four answered pings');
    expect(peer.readyState).toBe('open');
  });

  it('1,000 concurrent connections each echoing', async () => {
    const { server, url } = await startServer({ maxConnections: 2000 });
    cleanups.push(() => server.close());
    server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    const count = 1000;
    const clients: WebSocket[] = [];
    cleanups.push(() => clients.forEach((ws) => ws.close()));
    const echoes = Array.from({ length: count }, (_, i) => {
      const ws = new WebSocket(url);
      clients.push(ws);
      return new Promise<string>((resolve, reject) => {
        ws.onopen = () => ws.send(`client ${i}`);
        ws.onmessage = (event) => resolve(event.data as string);
        ws.onerror = (event) => reject(new Error((event as unknown as { message: string }).message));
      });
    });
    const replies = await within(Promise.all(echoes), 20_000, '1,000 echoes');
    expect(replies).toEqual(Array.from({ length: count }, (_, i) => `client ${i}`));
    expect(server.clients.size).toBe(count);
    await within(server.close(), 10_000, 'graceful close of 1,000');
    await waitUntil(() => clients.every((ws) => ws.readyState === WebSocket.CLOSED), 5000, 'all closed');
  }, 30_000);
});
