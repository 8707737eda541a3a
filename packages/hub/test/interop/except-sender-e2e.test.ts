/**
 * Publish except the sender, end to end: @switchyard/client over `ws` talking to a hub whose
 * app echoes each line to everyone but its author. The author's client gets a `skip` for
 * its own line, so it sees no false gap, and its resume continues after its own lines.
 */
import { createClient, defineProtocol, type Client } from '@switchyard/client';
import { parseClientFrame } from '@switchyard/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createHub, type Hub } from '../../src/index.js';
import { WsPeer } from '../support/ws-peer.js';

type Relay = {
  server: { line: { from: string; text: string } };
  requests: {
    join: { req: { room: string }; res: null };
    /** Published to the room except the sender; the reply carries the line's seq. */
    say: { req: { room: string; from: string; text: string }; res: { seq: number } };
  };
};
const relay = defineProtocol<Relay>();

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startRelay(): Promise<{ hub: Hub<Relay>; url: string; sockets: Set<WebSocket> }> {
  const hub = createHub<Relay>({ history: { maxCount: 1000, maxAgeMs: 10 * 60_000 } });
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const sockets = new Set<WebSocket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const peer = new WsPeer(socket);
    hub.attach(peer);
    const reply = (id: number, data: unknown): void => void peer.send(JSON.stringify({ t: 'res', id, ok: true, data }));
    socket.on('message', (raw) => {
      const text = raw.toString();
      if (hub.handle(peer, text)) return;
      const parsed = parseClientFrame(JSON.parse(text));
      if (!parsed.ok || parsed.frame.t !== 'req') return;
      const { id, type, data } = parsed.frame;
      if (type === 'join') {
        void hub.subscribe(peer, (data as { room: string }).room).then(() => reply(id, null));
      } else if (type === 'say') {
        const { room, from, text: line } = data as Relay['requests']['say']['req'];
        void hub.publish(room, 'line', { from, text: line }, { except: peer }).then(({ seq }) => reply(id, { seq }));
      }
    });
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  cleanups.push(
    () => hub.close(),
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.terminate();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as { port: number };
  return { hub, url: `ws://127.0.0.1:${port}/`, sockets };
}

interface Member {
  readonly client: Client<Relay>;
  readonly lines: string[];
  readonly gaps: string[];
}

function member(url: string): Member {
  const client = createClient(relay, {
    url,
    WebSocket: WebSocket as never,
    window: null,
    initialDelay: 20,
    maxDelay: 100,
    heartbeatInterval: 0,
  });
  const seen: Member = { client, lines: [], gaps: [] };
  client.on('line', (line, meta) => seen.lines.push(`${meta.seq}:${line.from}:${line.text}`));
  client.onEvent('gap', (gap) => seen.gaps.push(`${gap.from}-${gap.to}`));
  cleanups.push(() => client.close());
  return seen;
}

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('publish except the sender, with @switchyard/client over real sockets', () => {
  it('the sender sees no gap for its own lines, the others see every line, and resume continues after them', async () => {
    const { hub, url, sockets } = await startRelay();
    const ann = member(url);
    await ann.client.request('join', { room: 'r' });
    const annSocket = [...sockets][0]!;
    const bob = member(url);
    await bob.client.request('join', { room: 'r' });
    const say = (who: Member, from: string, text: string) => who.client.request('say', { room: 'r', from, text });
    // The reply leaves after the skip on the same socket, so the sender has counted its line.
    expect(await say(ann, 'ann', 'a1')).toEqual({ seq: 1 });
    expect(await say(bob, 'bob', 'b1')).toEqual({ seq: 2 });
    expect(await say(ann, 'ann', 'a2')).toEqual({ seq: 3 });
    expect(await say(ann, 'ann', 'a3')).toEqual({ seq: 4 });
    expect(await say(bob, 'bob', 'b2')).toEqual({ seq: 5 });
    expect(await say(ann, 'ann', 'a4')).toEqual({ seq: 6 });
    await until(() => bob.lines.length === 4 && ann.lines.length === 2, 'every line');
    expect(ann.lines).toEqual(['2:bob:b1', '5:bob:b2']);
    expect(bob.lines).toEqual(['1:ann:a1', '3:ann:a2', '4:ann:a3', '6:ann:a4']);
    expect(ann.gaps).toEqual([]);
    expect(bob.gaps).toEqual([]);

    // Ann's connection drops; Bob speaks meanwhile. Her resume point is her own last line
    // (seq 6): the backlog is Bob's line alone, not her own line back.
    annSocket.terminate();
    await until(() => hub.localSubscriberCount('r') === 1, 'the hub to see the drop');
    await say(bob, 'bob', 'b3');
    await until(() => ann.lines.length >= 3, 'the backlog');
    expect(ann.lines).toEqual(['2:bob:b1', '5:bob:b2', '7:bob:b3']);
    expect(await say(ann, 'ann', 'a5')).toEqual({ seq: 8 });
    await say(bob, 'bob', 'b4');
    await until(() => ann.lines.length === 4 && bob.lines.length === 5, 'the lines after the resume');
    expect(ann.lines.at(-1)).toBe('9:bob:b4');
    expect(bob.lines.at(-1)).toBe('8:ann:a5');
    expect(ann.gaps).toEqual([]);
    expect(bob.gaps).toEqual([]);
  });
});
