import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type CloseEvent, type WebSocketConnection } from '@switchyard/node';
import { clientOptions, fragmentLimitFor, parseEchoArgs } from '../src/args.mjs';
import { runFuzzingClient } from '../src/fuzzing-client.mjs';
import { startEchoServer } from '../src/node.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function echo(argv: string[]): Promise<string> {
  const server: WebSocketServer = await startEchoServer(parseEchoArgs(['--port', '0', ...argv]));
  cleanups.push(() => server.close());
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function connect(url: string, options?: ConstructorParameters<typeof WebSocket>[2]): Promise<WebSocket> {
  const ws = new WebSocket(url, [], options);
  ws.binaryType = 'arraybuffer';
  cleanups.push(() => ws.close());
  return within(new Promise((resolve, reject) => { ws.onopen = () => resolve(ws); ws.onerror = reject; }), 5000, 'open');
}

describe('echo flags', () => {
  it('parses the documented command line', () => {
    expect(parseEchoArgs(['--port', '9001', '--deflate', '--max-payload', '16777216', '--runtime', 'bun'])).toMatchObject({
      port: 9001, deflate: true, maxPayload: 16 * 1024 * 1024, runtime: 'bun', client: false,
    });
    expect(parseEchoArgs(['--client', '--url', 'ws://127.0.0.1:9001', '--agent', 'me'])).toMatchObject({ client: true, url: 'ws://127.0.0.1:9001', agent: 'me' });
    expect(() => parseEchoArgs(['--runtime', 'java'])).toThrow(/runtime/);
    expect(() => parseEchoArgs(['--client'])).toThrow(/--url/);
    expect(() => parseEchoArgs(['--bogus'])).toThrow(/unknown flag/);
  });

  it('scales the fragment limit with the message limit', () => {
    expect(fragmentLimitFor(16 * 1024 * 1024)).toBeGreaterThanOrEqual(65_536);
  });
});

describe('echo server (node)', () => {
  it('echoes each message with its type', async () => {
    const ws = await connect(await echo([]));
    const got: unknown[] = [];
    ws.onmessage = (event) => got.push(event.data);
    ws.send('text');
    ws.send(Uint8Array.of(1, 2, 3));
    await within(new Promise<void>((resolve) => { const t = setInterval(() => got.length === 2 && (clearInterval(t), resolve()), 5); }), 3000, 'echoes');
    expect(got[0]).toBe('text');
    expect([...new Uint8Array(got[1] as ArrayBuffer)]).toEqual([1, 2, 3]);
  });

  it('keeps the library limits by default (1 MiB → 1009) and raises them with --max-payload, fragments included', async () => {
    const strict = await connect(await echo([]));
    const refused = new Promise<CloseEvent>((resolve) => { strict.onclose = resolve; });
    strict.send(new Uint8Array(2 * 1024 * 1024));
    expect((await within(refused, 5000, '1009')).code).toBe(1009);

    // 4 MiB in 64-byte fragments: 65,536 frames, sent by a raw client so that each is a real frame.
    const url = await echo(['--max-payload', String(16 * 1024 * 1024)]);
    const fragments = await import('node:net').then((net) => new Promise<{ length: number; close: number | undefined }>((resolve, reject) => {
      const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
      cleanups.push(() => socket.destroy());
      const key = 'dGhlIHNhbXBsZSBub25jZQ==';
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      const count = 65_536;
      const frames: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const first = (i === 0 ? 0x02 : 0x00) | (i === count - 1 ? 0x80 : 0);
        frames.push(Buffer.from([first, 0x80 | 64, 0, 0, 0, 0]), Buffer.alloc(64, i & 0xff));
      }
      socket.write(Buffer.concat(frames));
      let received = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        const headEnd = received.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const body = received.subarray(headEnd + 4);
        if (body.length < 10) return;
        const opcode = (body[0] as number) & 0x0f;
        if (opcode === 0x8) return resolve({ length: 0, close: body.readUInt16BE(2) });
        if (body[1] !== 127) return reject(new Error('expected a 64-bit length'));
        const length = Number(body.readBigUInt64BE(2));
        if (body.length >= 10 + length) resolve({ length, close: undefined });
      });
      socket.on('error', reject);
    }));
    expect(fragments).toEqual({ length: 4 * 1024 * 1024, close: undefined });
  }, 30_000);

  it('negotiates permessage-deflate with --deflate only', async () => {
    expect((await connect(await echo([]), { perMessageDeflate: true })).extensions).toBe('');
    const deflated = await connect(await echo(['--deflate']), { perMessageDeflate: true });
    expect(deflated.extensions).toMatch(/^permessage-deflate/);
  });

  it('run.mjs prints ready, and SIGTERM closes every peer with 1001 before exiting', async () => {
    const child: ChildProcess = spawn(process.execPath, [join(here, '..', 'run.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout?.on('data', (chunk) => (output += String(chunk)));
    await within(new Promise<void>((resolve) => { const t = setInterval(() => /ready/.test(output) && (clearInterval(t), resolve()), 20); }), 60_000, 'ready');
    const url = /(ws:\/\/\S+)/.exec(output)?.[1] as string;
    const ws = await connect(url);
    const closed = new Promise<CloseEvent>((resolve) => { ws.onclose = resolve; });
    child.kill('SIGTERM');
    const event = await within(closed, 5000, 'close');
    expect([event.code, event.wasClean]).toEqual([1001, true]);
    const [code] = (await within(once(child, 'exit'), 5000, 'exit')) as [number | null];
    expect(code).toBe(0);
  }, 90_000);
});

describe('fuzzing-client mode', () => {
  it('fetches the case count, echoes every case with its type, then updates the reports', async () => {
    const log: string[] = [];
    const cases = new Map<number, Array<[string, boolean]>>();
    const fake = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => fake.close());
    await once(fake, 'listening');
    fake.on('connection', (ws: WebSocketConnection, request) => {
      const url = new URL(request.url ?? '/', 'http://fake');
      log.push(`${url.pathname}${url.search}`);
      if (url.pathname === '/getCaseCount') {
        ws.send('3');
        ws.close(1000);
      } else if (url.pathname === '/runCase') {
        const n = Number(url.searchParams.get('case'));
        const echoed: Array<[string, boolean]> = [];
        cases.set(n, echoed);
        const sent: Array<string | Uint8Array> = [`case ${n}`, Uint8Array.of(n, n + 1), 'é'.repeat(n * 100)];
        ws.on('message', (data, isBinary) => {
          echoed.push([isBinary ? Buffer.from(data as Uint8Array).toString('hex') : (data as string), isBinary]);
          if (echoed.length === sent.length) ws.close(1000);
        });
        for (const m of sent) ws.send(m);
      } else {
        ws.close(1000);
      }
    });
    const url = `ws://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const result = await within(runFuzzingClient({ WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, url, agent: 'switchyard test' }), 10_000, 'fuzzing client');
    expect(result).toEqual({ cases: 3 });
    expect(log).toEqual([
      '/getCaseCount',
      '/runCase?case=1&agent=switchyard%20test',
      '/runCase?case=2&agent=switchyard%20test',
      '/runCase?case=3&agent=switchyard%20test',
      '/updateReports?agent=switchyard%20test',
    ]);
    for (const n of [1, 2, 3]) {
      expect(cases.get(n)).toEqual([
        [`case ${n}`, false],
        [Buffer.from([n, n + 1]).toString('hex'), true],
        ['é'.repeat(n * 100), false],
      ]);
    }
  });

  it('offers permessage-deflate with --deflate and takes --max-payload', async () => {
    const fake = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    cleanups.push(() => fake.close());
    await once(fake, 'listening');
    const extensions: string[] = [];
    const closes: number[] = [];
    fake.on('connection', (ws: WebSocketConnection, request) => {
      extensions.push(ws.extensions);
      const url = new URL(request.url ?? '/', 'http://fake');
      if (url.pathname === '/getCaseCount') {
        ws.send('1');
        ws.close(1000);
      } else if (url.pathname === '/runCase') {
        // Above the client's --max-payload: it must close with 1009.
        ws.on('close', (code) => closes.push(code));
        ws.send(new Uint8Array(2048));
      } else {
        ws.close(1000);
      }
    });
    const url = `ws://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const args = parseEchoArgs(['--client', '--url', url, '--deflate', '--max-payload', '1024']);
    const result = await within(
      runFuzzingClient({ WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, url, agent: 'a', options: clientOptions(args) }),
      10_000,
      'fuzzing client',
    );
    expect(result).toEqual({ cases: 1 });
    expect(extensions.length).toBe(3);
    for (const value of extensions) expect(value).toMatch(/^permessage-deflate/);
    expect(closes).toEqual([1009]);
  });
});
