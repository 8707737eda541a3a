/**
 * Fan-out batched per event-loop turn, on real loopback sockets: the hub over @switchyard/node
 * with `ws` clients. Every write Node hands to a server socket's handle (`_write` / `_writev`,
 * one each per system call it makes) is counted, so a burst that went out message by message
 * shows up as N writes per connection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocketConnection } from '@switchyard/node';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../../src/index.js';
import { MAX_BATCH_BYTES } from '../../src/write-batch.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Counted {
  /** Non-empty writes handed to the socket's handle so far. */
  writes: number;
}

/** Counts what Node passes to the socket's handle: one `_write` or `_writev` per system call. */
function countWrites(socket: Socket): Counted {
  const counted: Counted = { writes: 0 };
  const stream = socket as Socket & {
    _write(chunk: Buffer, encoding: string, callback: (error?: Error | null) => void): void;
    _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void;
  };
  const write = stream._write.bind(stream);
  const writev = stream._writev.bind(stream);
  stream._write = (chunk, encoding, callback) => {
    if (chunk.length > 0) counted.writes++;
    write(chunk, encoding, callback);
  };
  stream._writev = (chunks, callback) => {
    if (chunks.some((entry) => entry.chunk.length > 0)) counted.writes++;
    writev(chunks, callback);
  };
  return counted;
}

interface Subscriber {
  readonly ws: WebSocket;
  readonly frames: Array<{ t: string; seq?: number; type?: string; data?: unknown; after?: number }>;
  readonly counted: Counted;
  readonly connection: WebSocketConnection;
}

async function start(subscribers: number): Promise<{ hub: Hub; list: Subscriber[] }> {
  const hub = createHub({ history: { maxCount: 10_000, maxAgeMs: 60_000 } });
  const http: Server = createServer();
  const counters = new Map<string, Counted>();
  // Counted from the first byte: the key is the client's port, which the connection reports too.
  http.on('connection', (socket) => counters.set(String(socket.remotePort), countWrites(socket)));
  const server = new WebSocketServer({ server: http, heartbeatInterval: 0 });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () => hub.close(),
    () => new Promise((resolve) => http.close(resolve)),
    () => server.close(),
  );
  const connections = new Map<string, WebSocketConnection>();
  server.on('connection', (connection) => {
    connections.set(String(connection.remotePort), connection);
    void hub.subscribe(connection, 'burst');
  });
  const port = (http.address() as AddressInfo).port;
  const list: Subscriber[] = [];
  for (let i = 0; i < subscribers; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    cleanups.push(() => ws.terminate());
    const frames: Subscriber['frames'] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Subscriber['frames'][number]));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const local = String((ws as unknown as { _socket: Socket })._socket.localPort);
    await until(() => connections.has(local), 'the server side of a client');
    list.push({ ws, frames, counted: counters.get(local) as Counted, connection: connections.get(local) as WebSocketConnection });
  }
  // Every subscription has started (its `pos` frame arrived): nothing else is in flight.
  await until(() => list.every((s) => s.frames.length === 1 && s.frames[0]?.t === 'pos'), 'every subscription');
  return { hub, list };
}

const writesSoFar = (list: Subscriber[]): number[] => list.map((s) => s.counted.writes);
const seqs = (s: Subscriber): number[] => s.frames.filter((f) => f.t === 'msg').map((f) => f.seq as number);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('fan-out batched per event-loop turn (@switchyard/node, loopback)', () => {
  it('a burst of 20 messages to 200 subscribers costs one write per subscriber, in order', async () => {
    const { hub, list } = await start(200);
    const before = writesSoFar(list);
    // Published back to back, each awaited, as an application's loop does.
    for (let i = 1; i <= 20; i++) await hub.publish('burst', 'm', { i });
    await until(() => list.every((s) => seqs(s).length === 20), 'twenty messages each');
    const writes = writesSoFar(list).map((after, i) => after - (before[i] as number));
    // Without batching this is 20 for every subscriber (one write per message).
    expect(writes).toEqual(Array(200).fill(1));
    for (const s of list) {
      expect(seqs(s)).toEqual(range(1, 20));
      expect(s.frames.filter((f) => f.t === 'msg').map((f) => (f.data as { i: number }).i)).toEqual(range(1, 20));
    }
  });

  it('the application’s own sends between publishes of the same turn keep their exact place', async () => {
    const { hub, list } = await start(20);
    const before = writesSoFar(list);
    for (let i = 1; i <= 30; i++) {
      await hub.publish('burst', 'm', { i });
      // An unstamped event and a raw send by the application: held behind the hub's frames.
      if (i % 10 === 0) {
        for (const s of list) {
          hub.send(s.connection, 'note', { after: i });
          s.connection.send(JSON.stringify({ t: 'raw', after: i }));
        }
      }
    }
    await until(() => list.every((s) => s.frames.length === 1 + 30 + 6), 'every frame');
    const writes = writesSoFar(list).map((after, i) => after - (before[i] as number));
    expect(writes).toEqual(Array(20).fill(1));
    const expected: string[] = [];
    for (let i = 1; i <= 30; i++) {
      expected.push(`m${i}`);
      if (i % 10 === 0) expected.push(`note${i}`, `raw${i}`);
    }
    for (const s of list) {
      const order = s.frames.slice(1).map((f) => {
        if (f.t === 'raw') return `raw${f.after}`;
        if (f.type === 'note') return `note${(f.data as { after: number }).after}`;
        return `m${f.seq}`;
      });
      expect(order).toEqual(expected);
    }
  });

  it('a burst larger than one batch leaves in writes of about MAX_BATCH_BYTES, in order, nothing dropped', async () => {
    const { hub, list } = await start(4);
    const before = writesSoFar(list);
    const text = 'x'.repeat(1000);
    const count = 400;
    const published: Array<Promise<unknown>> = [];
    for (let i = 1; i <= count; i++) published.push(hub.publish('burst', 'm', text));
    await Promise.all(published);
    await until(() => list.every((s) => seqs(s).length === count), 'every message');
    const bytes = count * 1100;
    const writes = writesSoFar(list).map((after, i) => after - (before[i] as number));
    // At least one write per full batch, never one per message (Node may join batches that
    // waited for the kernel into one writev, hence no lower bound beyond one).
    for (const w of writes) {
      expect(w).toBeGreaterThanOrEqual(1);
      expect(w).toBeLessThanOrEqual(Math.ceil(bytes / MAX_BATCH_BYTES) + 2);
    }
    for (const s of list) {
      expect(seqs(s)).toEqual(range(1, count));
      expect(s.frames.some((f) => f.t === 'gap')).toBe(false);
    }
  });
});
