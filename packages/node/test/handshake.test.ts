import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import WsClient from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocketConnection } from '../src/index.js';
import { rawExchange, startServer, upgradeRequest, within, wsClosed, wsOpen } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function server<User = undefined>(options: Parameters<typeof startServer<User>>[0] = {}) {
  const started = await startServer<User>(options);
  cleanups.push(() => started.server.close());
  return started;
}

function client(url: string, options?: WsClient.ClientOptions, protocols?: string[]): WsClient {
  const ws = new WsClient(url, protocols, options);
  ws.on('error', () => undefined);
  cleanups.push(() => ws.terminate());
  return ws;
}

describe('standalone server: HTTP side', () => {
  it('answers a plain request with 426 Upgrade Required', async () => {
    const { port } = await server();
    const answer = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 426 /);
    expect(answer).toMatch(/\r\nUpgrade: websocket\r\n/i);
  });

  it('answers 404 to an upgrade for another path and accepts its own path with a query', async () => {
    const { port, url } = await server({ path: '/ws' });
    expect(await rawExchange(port, upgradeRequest('/other'))).toMatch(/^HTTP\/1\.1 404 /);
    const ws = client(`${url}ws?token=1`);
    await within(wsOpen(ws), 3000, 'open');
  });

  it('survives hostile heads: 17 KiB head (431), 200 header lines (431), garbage (400), and keeps serving', async () => {
    const { port, url } = await server();
    const big = upgradeRequest('/', [`X-Big: ${'a'.repeat(17 * 1024)}`]);
    expect(await rawExchange(port, big)).toMatch(/^HTTP\/1\.1 431 /);
    const many = upgradeRequest('/', Array.from({ length: 200 }, (_, i) => `X-${i}: y`));
    expect(await rawExchange(port, many)).toMatch(/^HTTP\/1\.1 431 /);
    const twoThousand = upgradeRequest('/', Array.from({ length: 2000 }, (_, i) => `X-${i}: y`));
    expect(await rawExchange(port, twoThousand)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await rawExchange(port, 'HELLO WORLD\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    const ws = client(url);
    await within(wsOpen(ws), 3000, 'open after the attacks');
  });

  it('refuses HTTP/1.0, a missing Host and a duplicated key (codec rules)', async () => {
    const { port } = await server();
    expect(await rawExchange(port, upgradeRequest().replace('HTTP/1.1', 'HTTP/1.0'))).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawExchange(port, upgradeRequest().replace('Host: 127.0.0.1\r\n', ''))).toMatch(/^HTTP\/1\.1 400 /);
    expect(await rawExchange(port, upgradeRequest('/', ['Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==']))).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('answers 101 with the accept value of RFC 6455 §1.3', async () => {
    const { port } = await server();
    const answer = await rawExchange(port, upgradeRequest(), 300);
    expect(answer).toMatch(/^HTTP\/1\.1 101 /);
    expect(answer).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});

describe('admission', () => {
  it('refuses origins outside the allow-list with 403', async () => {
    const { url } = await server({ origins: ['https://app.example'] });
    const bad = client(url, { origin: 'https://evil.example' });
    const status = await within(new Promise<number>((resolve) => bad.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))), 3000, 'refusal');
    expect(status).toBe(403);
    const good = client(url, { origin: 'https://app.example' });
    await within(wsOpen(good), 3000, 'allowed origin');
  });

  it('authenticate: accepts with typed user data and response headers, rejects with status, headers and body', async () => {
    const { server: wss, url } = await server<{ name: string }>({
      authenticate: async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        const token = new URL(request.url ?? '/', 'http://x').searchParams.get('token');
        if (token === 'good') return { ok: true, user: { name: 'ada' }, headers: { 'X-Session': 'fresh' } };
        return { ok: false, status: 401, headers: { 'WWW-Authenticate': 'Bearer' }, body: 'bad token' };
      },
    });
    const users: string[] = [];
    wss.on('connection', (ws, _request, user) => users.push(`${ws.user.name}/${user.name}`));
    const refused = client(`${url}?token=bad`);
    const response = await within(
      new Promise<http.IncomingMessage>((resolve) => refused.once('unexpected-response', (_req, res) => resolve(res))),
      3000,
      'refusal',
    );
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    let body = '';
    for await (const chunk of response) body += String(chunk);
    expect(body).toBe('bad token');

    const accepted = client(`${url}?token=good`);
    const upgrade = new Promise<http.IncomingMessage>((resolve) => accepted.once('upgrade', resolve));
    await within(wsOpen(accepted), 3000, 'open');
    expect((await upgrade).headers['x-session']).toBe('fresh');
    expect(users).toEqual(['ada/ada']);
  });

  it('authenticate that throws refuses with 500; one that hangs gets 408 after handshakeTimeout', async () => {
    const { port } = await server({
      handshakeTimeout: 200,
      authenticate: (request) => {
        if (request.url === '/throw') throw new Error('boom');
        return new Promise<never>(() => undefined);
      },
    });
    expect(await rawExchange(port, upgradeRequest('/throw'))).toMatch(/^HTTP\/1\.1 500 /);
    const started = Date.now();
    expect(await rawExchange(port, upgradeRequest('/hang'))).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('maxConnections: the connection over the limit gets 503', async () => {
    const { url } = await server({ maxConnections: 1 });
    const first = client(url);
    await within(wsOpen(first), 3000, 'first');
    const second = client(url);
    const status = await within(new Promise<number>((resolve) => second.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))), 3000, 'second');
    expect(status).toBe(503);
  });

  it('subprotocol hook sees the offer and the request', async () => {
    const seen: string[][] = [];
    const { server: wss, url } = await server({
      protocols: (offered, request) => {
        seen.push([...offered, request.headers.host ?? '']);
        return offered.includes('chat.v2') ? 'chat.v2' : undefined;
      },
    });
    const connected = new Promise<WebSocketConnection>((resolve) => wss.once('connection', resolve));
    const ws = client(url, {}, ['chat.v1', 'chat.v2']);
    await within(wsOpen(ws), 3000, 'open');
    expect(ws.protocol).toBe('chat.v2');
    expect((await connected).protocol).toBe('chat.v2');
    expect(seen[0]?.slice(0, 2)).toEqual(['chat.v1', 'chat.v2']);
  });

  it('rejects invalid options at construction', () => {
    expect(() => new WebSocketServer({ noServer: true, protocols: ['bad name'] })).toThrow();
    expect(() => new WebSocketServer({ noServer: true, port: 1 })).toThrow(TypeError);
  });
});

describe('attach and noServer modes', () => {
  it('attaches to an existing http server and routes two paths to two servers with handleUpgrade', async () => {
    const httpServer = http.createServer((_req, res) => res.end('plain http'));
    const chat = new WebSocketServer({ noServer: true });
    const feed = new WebSocketServer({ noServer: true });
    httpServer.on('upgrade', (req, socket, head) => {
      const target = req.url === '/chat' ? chat : req.url === '/feed' ? feed : undefined;
      if (!target) return socket.destroy();
      target.handleUpgrade(req, socket, head, (ws) => ws.send(`hello from ${req.url}`));
    });
    httpServer.listen(0, '127.0.0.1');
    await once(httpServer, 'listening');
    cleanups.push(() => new Promise((resolve) => httpServer.close(resolve)));
    cleanups.push(() => chat.close(), () => feed.close());
    const port = (httpServer.address() as AddressInfo).port;
    for (const path of ['/chat', '/feed']) {
      const ws = client(`ws://127.0.0.1:${port}${path}`);
      const message = await within(new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data)))), 3000, path);
      expect(message).toBe(`hello from ${path}`);
    }
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(await res.text()).toBe('plain http');
  });

  it('server option: shares the http server and leaves it running after close()', async () => {
    const httpServer = http.createServer((_req, res) => res.end('still here'));
    httpServer.listen(0, '127.0.0.1');
    await once(httpServer, 'listening');
    cleanups.push(() => new Promise((resolve) => httpServer.close(resolve)));
    const port = (httpServer.address() as AddressInfo).port;
    const wss = new WebSocketServer({ server: httpServer, path: '/ws' });
    const ws = client(`ws://127.0.0.1:${port}/ws`);
    await within(wsOpen(ws), 3000, 'open');
    const closed = wsClosed(ws);
    await within(wss.close(), 5000, 'close');
    expect((await closed).code).toBe(1001);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('still here');
  });
});
