// Our server against the `ws` client: the library most Node programs use to connect.
import WsClient from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocketConnection, WebSocketServer } from '../../src/index.js';
import { startServer, within, wsClosed, wsOpen } from '../helpers.js';
import { BINARY_SIZES, MAX_PAYLOAD, TEXT_SIZES, patternBytes, patternText, sameBytes } from './matrix.js';

for (const deflate of [false, true]) {
  describe(`our server ↔ ws client${deflate ? ' (permessage-deflate)' : ''}`, () => {
    let server: WebSocketServer;
    let url: string;
    let client: WsClient;

    beforeAll(async () => {
      const started = await startServer({ maxPayload: MAX_PAYLOAD, perMessageDeflate: deflate ? { threshold: 0 } : false });
      server = started.server;
      url = started.url;
      server.on('connection', (ws) => {
        ws.on('message', (data, isBinary) => {
          if (data === 'fragment me') ws.send('f'.repeat(10_000), { fragmentSize: 1000 });
          else ws.send(data, { binary: isBinary });
        });
      });
      client = new WsClient(url, { perMessageDeflate: deflate, maxPayload: MAX_PAYLOAD });
      await wsOpen(client);
      expect(client.extensions.startsWith('permessage-deflate')).toBe(deflate);
    });
    afterAll(async () => {
      client.terminate();
      await server.close();
    });

    const echo = (data: string | Uint8Array) =>
      within(
        new Promise<{ data: Buffer; isBinary: boolean }>((resolve) => {
          client.once('message', (reply: Buffer, isBinary: boolean) => resolve({ data: reply, isBinary }));
          client.send(data);
        }),
        15_000,
        'echo',
      );

    for (const size of BINARY_SIZES) {
      it(`binary ${size} B`, async () => {
        const payload = patternBytes(size, size + 1);
        const reply = await echo(payload);
        expect(reply.isBinary).toBe(true);
        expect(sameBytes(reply.data, payload)).toBe(true);
      });
    }
    for (const size of TEXT_SIZES) {
      it(`text ${size} B`, async () => {
        const text = patternText(size);
        const reply = await echo(text);
        expect(reply.isBinary).toBe(false);
        expect(reply.data.toString()).toBe(text);
      });
    }

    it('fragmented both ways', async () => {
      const reply = await echo('fragment me');
      expect(reply.data.toString()).toBe('f'.repeat(10_000));
      const parts = ['one ', 'two ', 'three'];
      const whole = new Promise<string>((resolve) => client.once('message', (data: Buffer) => resolve(data.toString())));
      parts.forEach((part, i) => client.send(part, { fin: i === parts.length - 1 }));
      expect(await within(whole, 5000, 'fragmented echo')).toBe('one two three');
    });

    it('close codes both ways', async () => {
      const nextPeer = () => new Promise<WebSocketConnection>((resolve) => server.once('connection', resolve));
      let connected = nextPeer();
      const second = new WsClient(url, { perMessageDeflate: deflate });
      await wsOpen(second);
      const peer = await connected;
      const fromClient = new Promise<[number, string]>((resolve) => peer.once('close', (code, reason) => resolve([code, reason])));
      const closedAtClient = wsClosed(second);
      second.close(4321, 'client says bye');
      expect(await within(fromClient, 3000, 'server saw close')).toEqual([4321, 'client says bye']);
      expect((await closedAtClient).code).toBe(4321);

      connected = nextPeer();
      const third = new WsClient(url, { perMessageDeflate: deflate });
      await wsOpen(third);
      const closed = wsClosed(third);
      (await connected).close(1011, 'server says bye');
      expect(await within(closed, 3000, 'client saw close')).toEqual({ code: 1011, reason: 'server says bye' });
    });
  });
}
