/**
 * The Connection against a real browser: Chromium's WebSocket talks to the codec echo server,
 * with the permessage-deflate it always offers (the server asks both sides to reset their
 * compression context per message).
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type Chromium } from '../../../../test-support/chromium.js';
import { startEchoServer, type Cleanup } from './connection-echo-server.js';

let browser: Chromium | undefined;
let page: Page;
const cleanups: Cleanup[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  page = await browser.context.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
}, 30_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface PageResult {
  extensions: string;
  echoes: string[];
  close: { code: number; reason: string; wasClean: boolean };
}

/** In the page: open, send each message, collect the echoes, close with 4000 'bye' once all are back. */
function exchangeInBrowser(url: string, closeAtClient: boolean): Promise<PageResult> {
  return page.evaluate(
    ({ url, closeAtClient }) =>
      new Promise<PageResult>((resolve, reject) => {
        const big = 'chromium '.repeat(20_000);
        const bytes = new Uint8Array(70_000).map((_, i) => (i * 13) & 0xff);
        const messages: (string | Uint8Array)[] = ['hello', big, bytes, 'ünïcödé ✓ 😀', ''];
        const describe = (data: string | ArrayBuffer) =>
          typeof data === 'string'
            ? `text:${data.length}:${data.slice(0, 12)}`
            : `binary:${data.byteLength}:${new Uint8Array(data).slice(0, 4).join(',')}`;
        const ws = new WebSocket(url);
        ws.binaryType = 'arraybuffer';
        const echoes: string[] = [];
        const timer = setTimeout(() => reject(new Error(`timed out after ${echoes.length} echoes`)), 10_000);
        ws.onopen = () => messages.forEach((m) => ws.send(m));
        ws.onmessage = (event) => {
          echoes.push(describe(event.data as string | ArrayBuffer));
          if (echoes.length === messages.length && closeAtClient) ws.close(4000, 'bye');
        };
        ws.onclose = (event) => {
          clearTimeout(timer);
          resolve({ extensions: ws.extensions, echoes, close: { code: event.code, reason: event.reason, wasClean: event.wasClean } });
        };
      }),
    { url, closeAtClient },
  );
}

const expectedEchoes = [
  'text:5:hello',
  `text:180000:chromium chr`,
  'binary:70000:0,13,26,39',
  'text:12:ünïcödé ✓ 😀',
  'text:0:',
];

describe('Chromium and a codec server', () => {
  it('exchange compressed text and binary messages, then close at the browser', async () => {
    const server = await startEchoServer(cleanups, { perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true } });
    const result = await exchangeInBrowser(server.url, true);
    expect(result.extensions).toContain('permessage-deflate');
    expect(result.echoes).toEqual(expectedEchoes);
    expect(result.close).toEqual({ code: 4000, reason: '', wasClean: true });
    const log = server.logs[0]!;
    expect(log.map((e) => e.type)).toEqual(['text', 'text', 'binary', 'text', 'text', 'close']);
    expect(log.at(-1)).toEqual({ type: 'close', code: 4000, reason: 'bye', wasClean: true, initiator: 'remote' });
  }, 30_000);

  it('exchange messages without compression, then close at the server', async () => {
    const server = await startEchoServer(cleanups);
    const pending = exchangeInBrowser(server.url, false);
    for (let i = 0; i < 400 && (server.logs[0]?.length ?? 0) < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    server.act(0, (connection) => connection.close(1001, 'server going away'));
    const result = await pending;
    expect(result.extensions).toBe('');
    expect(result.echoes).toEqual(expectedEchoes);
    expect(result.close).toEqual({ code: 1001, reason: 'server going away', wasClean: true });
    expect(server.logs[0]!.at(-1)).toMatchObject({ type: 'close', code: 1001, wasClean: true, initiator: 'local' });
  }, 30_000);
});
