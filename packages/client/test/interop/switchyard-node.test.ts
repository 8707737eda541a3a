import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type WebSocketConnection } from '@switchyard/node';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { createClient } from '../../src/client.js';
import { defineProtocol } from '../../src/protocol.js';
import type { ClientOptions, StateChange } from '../../src/types.js';
import { parseClientFrame, type ClientFrame } from '@switchyard/wire';

// The client on Node 20 over @switchyard/node's WHATWG `WebSocket` class, against a
// @switchyard/node server on loopback: no `ws` and no browser anywhere in the path.

interface Chat {
  client: { say: { text: string } };
  server: { said: { text: string } };
  requests: { join: { req: { room: string }; res: { members: string[]; room: string } } };
}

/** What every server instance saw, and the `lobby` stream's last seq: kept across restarts. */
interface ServerLog {
  readonly frames: ClientFrame[];
  connections: number;
  seq: number;
}

interface TestServer {
  readonly port: number;
  readonly sockets: ReadonlySet<WebSocketConnection>;
  /** Graceful shutdown: 1001 to every peer, then the port is freed. */
  close(): Promise<void>;
  /** A crash: every socket destroyed without a close frame, then the port is freed. */
  crash(): Promise<void>;
}

/**
 * Replies to `join`, records every other frame and echoes `say` as a `said` stamped on the
 * `lobby` stream, numbered across restarts as a server with durable history would. Heartbeat pings are answered by the server's `appHeartbeat` and never reach
 * the handler.
 */
async function startServer(log: ServerLog, port = 0): Promise<TestServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port, appHeartbeat: true });
  await once(server, 'listening');
  server.on('connection', (socket) => {
    log.connections += 1;
    socket.on('message', (data, isBinary) => {
      if (isBinary || typeof data !== 'string') return socket.close(1003, 'text only');
      const parsed = parseClientFrame(JSON.parse(data));
      if (!parsed.ok) return socket.close(1008, parsed.error);
      log.frames.push(parsed.frame);
      const frame = parsed.frame;
      if (frame.t === 'req' && frame.type === 'join') {
        const { room } = frame.data as { room: string };
        socket.send(JSON.stringify({ t: 'res', id: frame.id, ok: true, data: { members: ['ada', 'bob'], room } }));
      } else if (frame.t === 'msg' && frame.type === 'say') {
        log.seq += 1;
        socket.send(JSON.stringify({ t: 'msg', type: 'said', data: frame.data, topic: 'lobby', seq: log.seq }));
      }
      return undefined;
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    sockets: server.clients,
    close: () => server.close(),
    async crash() {
      for (const socket of server.clients) socket.terminate();
      await server.close();
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startClient(port: number, options: Partial<ClientOptions> = {}) {
  const client = createClient(defineProtocol<Chat>(), {
    url: `ws://127.0.0.1:${port}/`,
    WebSocket,
    window: null,
    heartbeatInterval: 50,
    heartbeatTimeout: 200,
    initialDelay: 30,
    maxDelay: 60,
    ...options,
  });
  cleanups.push(() => client.close());
  const changes: StateChange[] = [];
  client.onEvent('state', (change) => changes.push(change));
  const said: string[] = [];
  client.on('said', (data) => said.push(data.text));
  return { client, changes, said };
}

describe('the client over @switchyard/node on Node', () => {
  it('round-trips a typed request, with heartbeats answered by the server', async () => {
    // @switchyard/node's class fits the client's `WebSocket` option as it is, no cast or wrapper.
    expectTypeOf(WebSocket).toExtend<NonNullable<ClientOptions['WebSocket']>>();
    const log: ServerLog = { frames: [], connections: 0, seq: 0 };
    const server = await startServer(log);
    cleanups.push(() => server.close());
    const { client, changes } = startClient(server.port);
    await until(() => client.state === 'open');

    const reply = client.request('join', { room: 'lobby' });
    expectTypeOf(reply).resolves.toEqualTypeOf<{ members: string[]; room: string }>();
    await expect(reply).resolves.toEqual({ members: ['ada', 'bob'], room: 'lobby' });
    expect(log.frames).toEqual([{ t: 'req', id: 0, type: 'join', data: { room: 'lobby' } }]);

    // Several heartbeat periods pass: every ping is answered, none reaches the app's handler.
    await sleep(400);
    expect(client.state).toBe('open');
    expect(changes.map((change) => change.state)).toEqual(['connecting', 'open']);
    expect(log.frames).toHaveLength(1);
    expect(log.connections).toBe(1);
  });

  it.each([
    { stop: 'close', closeCode: 1001 },
    { stop: 'crash', closeCode: 1006 },
  ] as const)(
    'delivers what was sent while the server was down ($stop) once, in order, after it restarts on the same port',
    async ({ stop, closeCode }) => {
      const log: ServerLog = { frames: [], connections: 0, seq: 0 };
      let server = await startServer(log);
      const port = server.port;
      cleanups.push(() => server.close());
      const { client, changes, said } = startClient(port);
      await until(() => client.state === 'open');
      expect(client.send('say', { text: 'before' })).toBe('sent');
      await until(() => said.length === 1);

      await server[stop]();
      await until(() => client.state === 'reconnecting');
      expect(changes.find((change) => change.state === 'reconnecting')).toMatchObject({ reason: 'socket-closed', code: closeCode });
      const during = ['m1', 'm2', 'm3', 'm4', 'm5'];
      for (const text of during) expect(client.send('say', { text })).toBe('queued');
      // Let a few attempts fail against the closed port first.
      await sleep(150);

      server = await startServer(log, port);
      await until(() => said.length === 1 + during.length);
      // Give duplicates, if any, the time to show up.
      await sleep(200);

      expect(log.frames).toEqual([
        { t: 'msg', type: 'say', data: { text: 'before' } },
        { t: 'resume', streams: { lobby: 1 } },
        ...during.map((text) => ({ t: 'msg', type: 'say', data: { text } })),
      ]);
      expect(said).toEqual(['before', ...during]);
      expect(client.state).toBe('open');
      expect(server.sockets.size).toBe(1);
    },
  );

  it('stops reconnecting after a close code marked fatal, and reconnects after any other', async () => {
    const log: ServerLog = { frames: [], connections: 0, seq: 0 };
    const server = await startServer(log);
    cleanups.push(() => server.close());

    const ordinary = startClient(server.port, { fatalCloseCodes: [4400] });
    await until(() => ordinary.client.state === 'open' && server.sockets.size === 1);
    for (const socket of server.sockets) socket.close(4500, 'come back later');
    await until(() => log.connections === 2 && ordinary.client.state === 'open');
    expect(ordinary.changes.find((change) => change.state === 'reconnecting')).toMatchObject({ code: 4500, closeReason: 'come back later' });
    ordinary.client.close();
    await until(() => server.sockets.size === 0);

    const fatal = startClient(server.port, { fatalCloseCodes: [4400] });
    await until(() => fatal.client.state === 'open' && server.sockets.size === 1);
    expect(log.connections).toBe(3);
    for (const socket of server.sockets) socket.close(4400, 'banned');
    await until(() => fatal.client.state === 'closed');
    expect(fatal.changes.at(-1)).toMatchObject({ state: 'closed', reason: 'fatal-code', code: 4400, closeReason: 'banned' });
    expect(fatal.client.send('say', { text: 'after' })).toBe('dropped');

    // Many retry delays (at most 60 ms each) pass without a new attempt.
    await sleep(400);
    expect(fatal.client.state).toBe('closed');
    expect(log.connections).toBe(3);
    expect(server.sockets.size).toBe(0);
    expect(fatal.changes.map((change) => change.state)).toEqual(['connecting', 'open', 'closed']);
  });
  it("an authenticate refusal with close code 4001 reaches onAuthFailure, and the client stops", async () => {
    let attempts = 0;
    const server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      authenticate: () => {
        attempts += 1;
        return { ok: false, closeCode: 4001, reason: 'sign in again' };
      },
    });
    await once(server, 'listening');
    cleanups.push(() => server.close());
    const failures: Array<{ code: number; reason: string }> = [];
    const refused = startClient((server.address() as AddressInfo).port, { onAuthFailure: (close) => failures.push(close) });
    await until(() => refused.client.state === 'closed');
    expect(failures).toEqual([{ code: 4001, reason: 'sign in again' }]);
    expect(attempts).toBe(1);
    expect(refused.changes.at(-1)).toMatchObject({ state: 'closed', code: 4001 });
  });
});
