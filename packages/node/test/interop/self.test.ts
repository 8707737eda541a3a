// Our client against our server: plain, wss (our server attached to an https server) and
// permessage-deflate with each family of parameters.
import { once } from 'node:events';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type CloseEvent, type ServerDeflateOptions, type WebSocketConnection } from '../../src/index.js';
import { selfSignedCertificate, within } from '../helpers.js';
import { BINARY_SIZES, MAX_PAYLOAD, TEXT_SIZES, patternBytes, patternText, sameBytes } from './matrix.js';

const certificate = selfSignedCertificate();

const variants: ReadonlyArray<{ name: string; secure: boolean; deflate: ServerDeflateOptions | false; sizes?: readonly number[] }> = [
  { name: 'ws://', secure: false, deflate: false },
  { name: 'wss://', secure: true, deflate: false },
  { name: 'permessage-deflate, defaults', secure: false, deflate: { threshold: 0 } },
  {
    name: 'permessage-deflate, no context takeover, 10-bit windows, memLevel 4',
    secure: true,
    deflate: { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10, memLevel: 4 },
    sizes: [0, 1, 126, 65536, 1024 * 1024],
  },
];

for (const variant of variants) {
  describe(`our client ↔ our server, ${variant.name}`, () => {
    let server: WebSocketServer;
    let httpsServer: https.Server | undefined;
    let url: string;
    let client: WebSocket;
    const peers: WebSocketConnection[] = [];

    const open = async (): Promise<WebSocket> => {
      const ws = new WebSocket(url, [], {
        maxPayload: MAX_PAYLOAD,
        perMessageDeflate: variant.deflate ? { threshold: 0 } : false,
        tls: { ca: certificate.cert },
      });
      ws.binaryType = 'arraybuffer';
      await within(new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; }), 5000, 'open');
      return ws;
    };

    beforeAll(async () => {
      const options = { maxPayload: MAX_PAYLOAD, perMessageDeflate: variant.deflate };
      if (variant.secure) {
        httpsServer = https.createServer({ key: certificate.key, cert: certificate.cert });
        server = new WebSocketServer({ server: httpsServer, ...options });
        httpsServer.listen(0, '127.0.0.1');
        await once(httpsServer, 'listening');
        url = `wss://localhost:${(httpsServer.address() as AddressInfo).port}/`;
      } else {
        server = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
        await once(server, 'listening');
        url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      }
      server.on('connection', (ws) => {
        peers.push(ws);
        ws.on('message', (data, isBinary) => {
          if (data === 'fragment me') ws.send('f'.repeat(10_000), { fragmentSize: 999 });
          else ws.send(data, { binary: isBinary });
        });
      });
      client = await open();
      if (variant.deflate) expect(client.extensions).toMatch(/^permessage-deflate/);
      else expect(client.extensions).toBe('');
    });
    afterAll(async () => {
      client.close();
      await server.close();
      if (httpsServer) await new Promise((resolve) => httpsServer?.close(resolve));
    });

    const echo = (data: string | Uint8Array) =>
      within(
        new Promise<MessageEvent>((resolve) => {
          client.addEventListener('message', (event) => resolve(event as MessageEvent), { once: true });
          client.send(data);
        }),
        15_000,
        'echo',
      );

    for (const size of variant.sizes ?? BINARY_SIZES) {
      it(`binary ${size} B`, async () => {
        const payload = patternBytes(size, size + 3);
        expect(sameBytes((await echo(payload)).data as ArrayBuffer, payload)).toBe(true);
      });
    }
    for (const size of (variant.sizes ?? TEXT_SIZES).filter((s) => s <= 1024 * 1024)) {
      it(`text ${size} B`, async () => {
        const text = patternText(size);
        expect((await echo(text)).data).toBe(text);
      });
    }

    it('many messages keep their order', async () => {
      const got: string[] = [];
      const done = new Promise<void>((resolve) => {
        const listener = (event: Event) => {
          got.push((event as MessageEvent).data as string);
          if (got.length === 200) {
            client.removeEventListener('message', listener);
            resolve();
          }
        };
        client.addEventListener('message', listener);
      });
      for (let i = 0; i < 200; i++) client.send(`${i}:${'p'.repeat(i * 13)}`);
      await within(done, 10_000, 'ordered echoes');
      expect(got.map((m) => Number(m.split(':')[0]))).toEqual(Array.from({ length: 200 }, (_, i) => i));
    });

    it('receives a fragmented message', async () => {
      expect((await echo('fragment me')).data).toBe('f'.repeat(10_000));
    });

    it('close codes both ways', async () => {
      const mine = await open();
      const peer = peers.at(-1) as WebSocketConnection;
      const serverSaw = new Promise<unknown[]>((resolve) => peer.once('close', (...args) => resolve(args)));
      const closed = new Promise<CloseEvent>((resolve) => { mine.onclose = resolve; });
      mine.close(4999, 'client');
      expect(await within(serverSaw, 3000, 'server saw close')).toEqual([4999, 'client', true]);
      expect((await within(closed, 3000, 'client close')).code).toBe(4999);

      const theirs = await open();
      const closedByServer = new Promise<CloseEvent>((resolve) => { theirs.onclose = resolve; });
      peers.at(-1)?.close(1000, 'done');
      const event = await within(closedByServer, 3000, 'close');
      expect([event.code, event.reason, event.wasClean]).toEqual([1000, 'done', true]);
    });
  });
}
