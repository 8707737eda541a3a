// Our server against headless Chromium's own WebSocket (Debian's chromium, driven by playwright-core).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type Chromium } from '../../../../test-support/chromium.js';
import type { WebSocketConnection, WebSocketServer } from '../../src/index.js';
import { startServer, waitUntil, within } from '../helpers.js';
import { BINARY_SIZES, MAX_PAYLOAD, TEXT_SIZES } from './matrix.js';

let browser: Chromium | undefined;
let page: Page;

beforeAll(async () => {
  browser = await launchChromium();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

/** Runs in the page: echoes each case through a fresh WebSocket and compares every byte there. */
async function browserEcho(url: string, cases: Array<{ kind: 'text' | 'binary'; size: number }>): Promise<{ extensions: string; results: string[] }> {
  return page.evaluate(
    async ({ url, cases }) => {
      const bytes = (size: number, seed: number) => {
        const out = new Uint8Array(size);
        let x = seed >>> 0;
        for (let i = 0; i < size; i++) {
          x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
          out[i] = x >>> 24;
        }
        return out;
      };
      const text = (size: number) => {
        let s = 'aé€😀'.repeat(Math.floor(size / 10));
        s += 'x'.repeat(size - new TextEncoder().encode(s).length);
        return s;
      };
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
      const results: string[] = [];
      for (const c of cases) {
        const sent = c.kind === 'text' ? text(c.size) : bytes(c.size, c.size + 11);
        const reply = await new Promise<unknown>((resolve) => {
          ws.onmessage = (event) => resolve(event.data);
          ws.send(sent);
        });
        let same: boolean;
        if (typeof sent === 'string') same = reply === sent;
        else {
          const got = new Uint8Array(reply as ArrayBuffer);
          same = got.length === sent.length && got.every((b, i) => b === sent[i]);
        }
        results.push(`${c.kind} ${c.size}: ${same ? 'ok' : 'differs'}`);
      }
      const extensions = ws.extensions;
      ws.close(1000);
      return { extensions, results };
    },
    { url, cases },
  );
}

for (const deflate of [false, true]) {
  describe(`our server ↔ Chromium${deflate ? ' (permessage-deflate)' : ''}`, () => {
    let server: WebSocketServer;
    let url: string;
    const peers: WebSocketConnection[] = [];
    const closes = new Map<WebSocketConnection, [number, string]>();

    beforeAll(async () => {
      const started = await startServer({ maxPayload: MAX_PAYLOAD, perMessageDeflate: deflate ? { threshold: 0 } : false });
      server = started.server;
      url = started.url;
      server.on('connection', (ws) => {
        peers.push(ws);
        ws.once('close', (code, reason) => closes.set(ws, [code, reason]));
        ws.on('message', (data, isBinary) => {
          if (data === 'fragment me') ws.send('f'.repeat(10_000), { fragmentSize: 100 });
          else if (data === 'close me') ws.close(4001, 'as asked');
          else ws.send(data, { binary: isBinary });
        });
      });
    });
    afterAll(() => server.close());

    it('echoes text and binary from 0 B to 16 MiB', async () => {
      const cases = [
        ...BINARY_SIZES.map((size) => ({ kind: 'binary' as const, size })),
        ...TEXT_SIZES.map((size) => ({ kind: 'text' as const, size })),
      ];
      const { extensions, results } = await within(browserEcho(url, cases), 20_000, 'browser echo');
      expect(results).toEqual(cases.map((c) => `${c.kind} ${c.size}: ok`));
      if (deflate) expect(extensions).toMatch(/^permessage-deflate/);
      else expect(extensions).toBe('');
    }, 25_000);

    it('receives fragmented messages and close codes both ways', async () => {
      const before = peers.length;
      const outcome = await page.evaluate(async (url) => {
        const ws = new WebSocket(url);
        await new Promise((resolve) => { ws.onopen = resolve; });
        const fragmented = await new Promise<string>((resolve) => {
          ws.onmessage = (event) => resolve(event.data as string);
          ws.send('fragment me');
        });
        const closed = await new Promise<[number, string, boolean]>((resolve) => {
          ws.onclose = (event) => resolve([event.code, event.reason, event.wasClean]);
          ws.send('close me');
        });
        const second = new WebSocket(url);
        await new Promise((resolve) => { second.onopen = resolve; });
        second.close(3003, 'browser leaves');
        return { fragmentedLength: fragmented.length, closed };
      }, url);
      expect(outcome).toEqual({ fragmentedLength: 10_000, closed: [4001, 'as asked', true] });
      await waitUntil(() => peers.length >= before + 2 && closes.has(peers.at(-1) as WebSocketConnection), 3000, 'the browser close');
      expect(closes.get(peers.at(-1) as WebSocketConnection)).toEqual([3003, 'browser leaves']);
    });
  });
}
