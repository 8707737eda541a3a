import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, connect as connectTcp, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from '@switchyard/node';
import { launchChromium, type Chromium } from '../../../../test-support/chromium.js';
import { parseClientFrame, type ClientFrame } from '@switchyard/wire';

// A headless Chromium runs the minified ESM bundle against a real @switchyard/node server over
// loopback: reconnect across a server restart, heartbeat timeouts through a proxy that
// stalls, and a request round trip.

/** What every server instance saw, kept across restarts. */
interface ServerLog {
  readonly frames: ClientFrame[];
  readonly connections: number[];
}

interface TestServer {
  readonly port: number;
  /** Sends a server event to every connected client. */
  broadcast(frame: object): void;
  close(): Promise<void>;
}

/**
 * The chat server the page talks to, on @switchyard/node: its `appHeartbeat` answers the
 * client's heartbeat pings before they reach the handler; the handler replies to `join` and
 * records the rest. `close()` is the graceful shutdown (1001 to every peer, then the port is freed).
 */
async function startServer(log: ServerLog, port = 0): Promise<TestServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port, appHeartbeat: true });
  await once(server, 'listening');
  server.on('connection', (socket) => {
    log.connections.push(Date.now());
    socket.on('message', (data, isBinary) => {
      if (isBinary || typeof data !== 'string') return socket.close(1003, 'text only');
      let value: unknown;
      try {
        value = JSON.parse(data);
      } catch {
        return socket.close(1007, 'not JSON');
      }
      const parsed = parseClientFrame(value);
      if (!parsed.ok) return socket.close(1008, parsed.error);
      log.frames.push(parsed.frame);
      if (parsed.frame.t === 'req' && parsed.frame.type === 'join') {
        const { room } = parsed.frame.data as { room: string };
        socket.send(JSON.stringify({ t: 'res', id: parsed.frame.id, ok: true, data: { members: ['ada', 'bob'], room } }));
      }
      return undefined;
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    broadcast: (frame) => void server.broadcast(JSON.stringify(frame)),
    close: () => server.close(),
  };
}

/** A TCP proxy that can stop forwarding in both directions while keeping the connections open. */
async function startStallingProxy(targetPort: number) {
  let forwarding = true;
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((inbound) => {
    const outbound = connectTcp(targetPort, '127.0.0.1');
    const pair = [inbound, outbound];
    const end = () => pair.forEach((socket) => socket.destroy());
    for (const socket of pair) {
      sockets.add(socket);
      socket.on('close', () => {
        sockets.delete(socket);
        end();
      });
      socket.on('error', end);
    }
    inbound.on('data', (chunk) => forwarding && outbound.write(chunk));
    outbound.on('data', (chunk) => forwarding && inbound.write(chunk));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    stall: () => void (forwarding = false),
    async close() {
      sockets.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>switchyard client</title>
<script type="module">
  import { createClient, defineProtocol } from '/client.js';
  const log = { states: [], said: [], drops: [] };
  let client;
  window.harness = {
    log,
    start(url, options) {
      client = createClient(defineProtocol(), { url, ...options });
      client.onEvent('state', (c) => log.states.push({ state: c.state, reason: c.reason }));
      client.onEvent('drop', (d) => log.drops.push(d));
      client.on('said', (data, meta) => log.said.push({ data, meta }));
    },
    state: () => client.state,
    // The first drop of the connection: a quick retry may already have moved the state on.
    firstReconnect: () => log.states.find((change) => change.state === 'reconnecting'),
    send: (text) => client.send('say', { text }),
    request: (room) => client.request('join', { room }),
    close: () => client.close(),
  };
  window.harnessReady = true;
</script>`;

let context: BrowserContext;
let browser: Chromium | undefined;
let http: HttpServer;
let origin: string;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('../../src/index.ts', import.meta.url))],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    conditions: ['@switchyard/source'],
  });
  const script = bundle.outputFiles[0]!.text;
  http = createHttpServer((request, response) => {
    if (request.url === '/client.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else if (request.url === '/') {
      response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    } else {
      response.writeHead(404).end();
    }
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  browser = await launchChromium();
  context = browser.context;
});

afterAll(async () => {
  await browser?.close();
  if (http) await new Promise<void>((resolve) => http.close(() => resolve()));
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function openPage(url: string, options: Record<string, unknown>): Promise<Page> {
  const page = await context.newPage();
  cleanups.push(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  cleanups.push(async () => expect(errors).toEqual([]));
  await page.goto(origin);
  await page.waitForFunction('window.harnessReady === true');
  await page.evaluate(`harness.start(${JSON.stringify(url)}, ${JSON.stringify(options)})`);
  return page;
}

const waitForState = (page: Page, state: string, timeout = 5_000) =>
  page.waitForFunction(`harness.state() === ${JSON.stringify(state)}`, undefined, { timeout, polling: 10 });

describe('the client in Chromium', () => {
  it('reconnects after the server restarts and delivers what was sent meanwhile once, in order', async () => {
    const log: ServerLog = { frames: [], connections: [] };
    let server = await startServer(log);
    const port = server.port;
    cleanups.push(() => server.close());
    const page = await openPage(`ws://127.0.0.1:${port}/`, { initialDelay: 200, maxDelay: 400, heartbeatInterval: 1_000, heartbeatTimeout: 1_000 });
    await waitForState(page, 'open');

    expect(await page.evaluate('harness.send("before")')).toBe('sent');
    server.broadcast({ t: 'msg', type: 'said', data: { from: 'srv', text: 'one' }, topic: 'lobby', seq: 1 });
    server.broadcast({ t: 'msg', type: 'said', data: { from: 'srv', text: 'two' }, topic: 'lobby', seq: 2 });
    await page.waitForFunction('harness.log.said.length === 2');
    await expect.poll(() => log.frames.length).toBe(1);

    await server.close();
    await waitForState(page, 'reconnecting');
    const during = ['m1', 'm2', 'm3', 'm4', 'm5'];
    for (const text of during) expect(await page.evaluate(`harness.send(${JSON.stringify(text)})`)).toBe('queued');

    server = await startServer(log, port);
    await waitForState(page, 'open', 10_000);
    await expect.poll(() => log.frames.filter((f) => f.t === 'msg').length, { timeout: 5_000 }).toBe(1 + during.length);
    // Give duplicates, if any, the time to show up.
    await new Promise((resolve) => setTimeout(resolve, 300));

    const afterRestart = log.frames.slice(1);
    // The first frame of the new connection says where the client stopped, then the queue follows in order.
    expect(afterRestart[0]).toEqual({ t: 'resume', streams: { lobby: 2 } });
    expect(afterRestart.slice(1)).toEqual(during.map((text) => ({ t: 'msg', type: 'say', data: { text } })));
    expect(await page.evaluate('harness.log.drops.length')).toBe(0);

    // A replay overlapping what the page has already seen is not delivered twice.
    server.broadcast({ t: 'msg', type: 'said', data: { from: 'srv', text: 'two' }, topic: 'lobby', seq: 2 });
    server.broadcast({ t: 'msg', type: 'said', data: { from: 'srv', text: 'three' }, topic: 'lobby', seq: 3 });
    await page.waitForFunction('harness.log.said.length === 3');
    expect(await page.evaluate('harness.log.said.map((m) => m.data.text + "@" + m.meta.seq)')).toEqual(['one@1', 'two@2', 'three@3']);
  });

  it('detects a server that stops answering heartbeats while TCP stays open, within the configured time', async () => {
    const log: ServerLog = { frames: [], connections: [] };
    const server = await startServer(log);
    cleanups.push(() => server.close());
    const proxy = await startStallingProxy(server.port);
    cleanups.push(() => proxy.close());
    const interval = 400;
    const timeout = 600;
    const page = await openPage(`ws://127.0.0.1:${proxy.port}/`, {
      heartbeatInterval: interval,
      heartbeatTimeout: timeout,
      initialDelay: 5_000,
      connectTimeout: 5_000,
    });
    await waitForState(page, 'open');
    // A few heartbeats go through the proxy and are answered.
    await new Promise((resolve) => setTimeout(resolve, interval * 3));
    expect(await page.evaluate('harness.state()')).toBe('open');

    proxy.stall();
    const stalledAt = performance.now();
    await page.waitForFunction('harness.firstReconnect() !== undefined', undefined, { timeout: interval + timeout + 2_000, polling: 10 });
    const detectedAfter = performance.now() - stalledAt;
    console.log(`heartbeat timeout detected ${Math.round(detectedAfter)} ms after the proxy stalled (bound ${interval + timeout} ms)`);
    expect(await page.evaluate('harness.firstReconnect().reason')).toBe('heartbeat-timeout');
    // Worst case: the proxy stalls right after a pong, so the next ping leaves `interval` later; plus timer and polling slack.
    expect(detectedAfter).toBeLessThanOrEqual(interval + timeout + 400);
  });

  it('round-trips a typed request', async () => {
    const log: ServerLog = { frames: [], connections: [] };
    const server = await startServer(log);
    cleanups.push(() => server.close());
    const page = await openPage(`ws://127.0.0.1:${server.port}/`, {});
    await waitForState(page, 'open');
    expect(await page.evaluate('harness.request("lobby")')).toEqual({ members: ['ada', 'bob'], room: 'lobby' });
    expect(log.frames).toEqual([{ t: 'req', id: 0, type: 'join', data: { room: 'lobby' } }]);
  });
});
