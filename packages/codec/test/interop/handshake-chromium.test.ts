/**
 * The server handshake against a real browser: Chromium's WebSocket connects to a raw TCP server
 * driven by HttpHeadParser + validateUpgradeRequest. Browsers are the strictest common client
 * (they fail a 101 with an unrequested subprotocol or extension parameter), and they always offer
 * permessage-deflate, so a compressed message from the page checks the negotiated parameters.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type Chromium } from '../../../../test-support/chromium.js';
import type { UpgradeServerOptions } from '../../src/index.js';
import { inflate, MESSAGE, startCodecServer, type Cleanup } from './codec-upgrade-server.js';

let browser: Chromium | undefined;
let page: Page;
const cleanups: Cleanup[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Outcome = { opened: true; protocol: string; extensions: string } | { opened: false; code: number };

/** Opens a WebSocket in the page; on open it sends MESSAGE and reports what the browser agreed to. */
function openInBrowser(url: string, protocols: string[]): Promise<Outcome> {
  return page.evaluate(
    ({ url, protocols, message }) =>
      new Promise<Outcome>((resolve) => {
        const ws = new WebSocket(url, protocols);
        const timer = setTimeout(() => resolve({ opened: false, code: -1 }), 5000);
        ws.onopen = () => {
          clearTimeout(timer);
          ws.send(message);
          resolve({ opened: true, protocol: ws.protocol, extensions: ws.extensions });
        };
        ws.onclose = (event) => {
          clearTimeout(timer);
          resolve({ opened: false, code: event.code });
        };
      }),
    { url, protocols, message: MESSAGE },
  );
}

async function connect(options: UpgradeServerOptions, protocols: string[] = []) {
  const server = await startCodecServer(cleanups, options);
  const outcome = await openInBrowser(server.url, protocols);
  return { server, outcome };
}

describe('Chromium against validateUpgradeRequest', () => {
  it('opens with a plain 101 and declines permessage-deflate when it is off', async () => {
    const { server, outcome } = await connect({});
    expect(outcome).toEqual({ opened: true, protocol: '', extensions: '' });
    const frame = await server.frames[0]!;
    expect(frame.rsv1).toBe(false);
    expect(new TextDecoder().decode(frame.payload)).toBe(MESSAGE);
  });

  it('agrees on the subprotocol the server prefers', async () => {
    const { outcome } = await connect({ protocols: ['chat.v2', 'chat.v1'] }, ['chat.v1', 'chat.v2']);
    expect(outcome).toMatchObject({ opened: true, protocol: 'chat.v2' });
  });

  it('fails the connection when protocols were offered and none was selected, as validateUpgradeResponse does', async () => {
    const { outcome } = await connect({ protocols: ['other'] }, ['chat.v1']);
    expect(outcome).toEqual({ opened: false, code: 1006 });
  });

  const deflateCases: Array<{ name: string; options: NonNullable<UpgradeServerOptions['perMessageDeflate']>; header: string }> = [
    { name: 'defaults', options: {}, header: 'permessage-deflate' },
    { name: 'a client window of 10 bits', options: { clientMaxWindowBits: 10 }, header: 'permessage-deflate; client_max_window_bits=10' },
    {
      name: 'every parameter',
      options: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 9 },
      header: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=9',
    },
  ];

  for (const { name, options, header } of deflateCases) {
    it(`negotiates permessage-deflate the browser accepts and compresses with: ${name}`, async () => {
      const { server, outcome } = await connect({ perMessageDeflate: options });
      expect(outcome).toEqual({ opened: true, protocol: '', extensions: header });
      const decision = server.decisions[0];
      if (!decision?.ok || !decision.deflate) throw new Error('deflate not negotiated');
      const frame = await server.frames[0]!;
      expect(frame.rsv1).toBe(true);
      expect(inflate(frame.payload, decision.deflate.clientMaxWindowBits)).toBe(MESSAGE);
    });
  }
});
