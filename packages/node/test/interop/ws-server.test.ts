// Our WHATWG client against the `ws` server, over ws:// and wss:// (a certificate made at test time).
import { once } from 'node:events';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer as WsServer, type WebSocket as WsSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type CloseEvent, type WebSocketClientOptions } from '../../src/index.js';
import { selfSignedCertificate, within } from '../helpers.js';
import { BINARY_SIZES, MAX_PAYLOAD, TEXT_SIZES, patternBytes, patternText, sameBytes } from './matrix.js';

const certificate = selfSignedCertificate();

const variants = [
  { name: 'ws://', secure: false, deflate: false },
  { name: 'ws:// with permessage-deflate', secure: false, deflate: true },
  { name: 'wss://', secure: true, deflate: false },
] as const;

for (const variant of variants) {
  describe(`ws server ↔ our client, ${variant.name}`, () => {
    let wss: WsServer;
    let httpsServer: https.Server | undefined;
    let url: string;
    let client: WebSocket;
    const peers: WsSocket[] = [];
    const options: WebSocketClientOptions = {
      maxPayload: MAX_PAYLOAD,
      perMessageDeflate: variant.deflate ? { threshold: 0 } : false,
      tls: { ca: certificate.cert },
    };

    const open = async (): Promise<WebSocket> => {
      const ws = new WebSocket(url, [], options);
      ws.binaryType = 'arraybuffer';
      await within(new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; }), 5000, 'open');
      return ws;
    };

    beforeAll(async () => {
      const config = { maxPayload: MAX_PAYLOAD, perMessageDeflate: variant.deflate ? { threshold: 0 } : false };
      if (variant.secure) {
        httpsServer = https.createServer({ key: certificate.key, cert: certificate.cert });
        wss = new WsServer({ server: httpsServer, ...config });
        httpsServer.listen(0, '127.0.0.1');
        await once(httpsServer, 'listening');
        url = `wss://localhost:${(httpsServer.address() as AddressInfo).port}/`;
      } else {
        wss = new WsServer({ host: '127.0.0.1', port: 0, ...config });
        await once(wss, 'listening');
        url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
      }
      wss.on('connection', (ws) => {
        peers.push(ws);
        ws.on('message', (data: Buffer, isBinary) => {
          if (data.toString() === 'fragment me') {
            for (let i = 0; i < 10; i++) ws.send('f'.repeat(1000), { fin: i === 9 });
          } else ws.send(data, { binary: isBinary });
        });
      });
      client = await open();
      expect(client.extensions.startsWith('permessage-deflate')).toBe(variant.deflate);
    });
    afterAll(async () => {
      client.close();
      for (const peer of peers) peer.terminate();
      await new Promise((resolve) => wss.close(resolve));
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

    for (const size of BINARY_SIZES) {
      it(`binary ${size} B`, async () => {
        const payload = patternBytes(size, size + 7);
        const reply = await echo(payload);
        expect(reply.data).toBeInstanceOf(ArrayBuffer);
        expect(sameBytes(reply.data as ArrayBuffer, payload)).toBe(true);
      });
    }
    for (const size of TEXT_SIZES) {
      it(`text ${size} B`, async () => {
        const text = patternText(size);
        expect((await echo(text)).data).toBe(text);
      });
    }

    it('receives a fragmented message', async () => {
      expect((await echo('fragment me')).data).toBe('f'.repeat(10_000));
    });

    it('close codes both ways', async () => {
      const mine = await open();
      const serverSaw = new Promise<[number, string]>((resolve) => peers.at(-1)?.once('close', (code, reason) => resolve([code, reason.toString()])));
      const closed = new Promise<CloseEvent>((resolve) => { mine.onclose = resolve; });
      mine.close(3001, 'from the client');
      expect(await within(serverSaw, 3000, 'server saw close')).toEqual([3001, 'from the client']);
      expect((await within(closed, 3000, 'client close')).code).toBe(3001);

      const theirs = await open();
      const closedByServer = new Promise<CloseEvent>((resolve) => { theirs.onclose = resolve; });
      peers.at(-1)?.close(1012, 'restart');
      const event = await within(closedByServer, 3000, 'close');
      expect([event.code, event.reason, event.wasClean]).toEqual([1012, 'restart', true]);
    });
  });
}
