/**
 * The handshake against a real peer: the `ws` library as client of a raw TCP server driven by
 * HttpHeadParser + validateUpgradeRequest, and as server for buildUpgradeRequest +
 * validateUpgradeResponse. Deflate agreement is checked by inflating a real compressed message
 * with the negotiated parameters.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type ClientOptions, type ServerOptions } from 'ws';
import {
  buildUpgradeRequest,
  HttpHeadParser,
  validateUpgradeResponse,
  type DeflateClientOptions,
  type HttpHeadResult,
  type UpgradeServerOptions,
} from '../../src/index.js';
import { inflate, MESSAGE, readFrame, startCodecServer, view, type Cleanup } from './codec-upgrade-server.js';

const cleanups: Cleanup[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Connects a ws client; resolves when it opened or failed. */
function connectWs(url: string, protocols: string[], options: ClientOptions) {
  const ws = new WebSocket(url, protocols, { handshakeTimeout: 5000, ...options });
  cleanups.push(() => ws.terminate());
  return new Promise<{ ok: true; ws: WebSocket } | { ok: false; error: string }>((resolve) => {
    ws.once('open', () => resolve({ ok: true, ws }));
    ws.once('error', (error) => resolve({ ok: false, error: error.message }));
  });
}

describe('a ws client against validateUpgradeRequest', () => {
  it('opens with the plain handshake and the request target intact', async () => {
    const server = await startCodecServer(cleanups, {});
    const result = await connectWs(server.url, [], { perMessageDeflate: false });
    expect(result.ok).toBe(true);
    expect(server.decisions[0]).toMatchObject({ ok: true, protocol: undefined, deflate: undefined });
  });

  it('agrees on the subprotocol the server prefers', async () => {
    const server = await startCodecServer(cleanups, { protocols: ['chat.v2', 'chat.v1'] });
    const result = await connectWs(server.url, ['chat.v1', 'chat.v2'], { perMessageDeflate: false });
    if (!result.ok) throw new Error(result.error);
    expect(result.ws.protocol).toBe('chat.v2');
  });

  it('is refused with the status ws reports when the origin is not allowed', async () => {
    const server = await startCodecServer(cleanups, { origins: ['https://app.example'] });
    const result = await connectWs(server.url, [], { origin: 'https://evil.example', perMessageDeflate: false });
    expect(result).toEqual({ ok: false, error: 'Unexpected server response: 403' });
  });

  it('gets 426 for an old protocol version', async () => {
    const server = await startCodecServer(cleanups, {});
    const result = await connectWs(server.url, [], { protocolVersion: 8, perMessageDeflate: false });
    expect(result).toEqual({ ok: false, error: 'Unexpected server response: 426' });
  });

  const deflateCases: Array<{ name: string; client: ClientOptions['perMessageDeflate']; server: UpgradeServerOptions['perMessageDeflate'] }> = [
    { name: 'defaults on both sides', client: true, server: {} },
    { name: 'a client window chosen by the server', client: true, server: { clientMaxWindowBits: 10 } },
    { name: 'a client window promised by the client', client: { clientMaxWindowBits: 11 }, server: { clientMaxWindowBits: 13 } },
    { name: 'a client offer of 8 bits', client: { clientMaxWindowBits: 8 }, server: { clientMaxWindowBits: 10 } },
    { name: 'context resets both ways', client: { serverNoContextTakeover: true }, server: { clientNoContextTakeover: true } },
    { name: 'a server window asked for by the client', client: { serverMaxWindowBits: 10 }, server: { serverMaxWindowBits: 12 } },
  ];

  for (const { name, client, server: serverDeflate } of deflateCases) {
    it(`negotiates permessage-deflate that ws accepts and compresses with: ${name}`, async () => {
      const server = await startCodecServer(cleanups, { perMessageDeflate: serverDeflate });
      const result = await connectWs(server.url, [], { perMessageDeflate: typeof client === 'object' ? { ...client, threshold: 0 } : { threshold: 0 } });
      if (!result.ok) throw new Error(result.error);
      expect(result.ws.extensions).toBe('permessage-deflate');
      const decision = server.decisions[0];
      if (!decision?.ok || !decision.deflate) throw new Error('deflate not negotiated');

      result.ws.send(MESSAGE);
      const frame = await server.frames[0]!;
      expect(frame.rsv1).toBe(true);
      expect(frame.opcode).toBe(1);
      expect(frame.payload.length).toBeLessThan(MESSAGE.length);
      expect(inflate(frame.payload, decision.deflate.clientMaxWindowBits)).toBe(MESSAGE);
    });
  }
});

/** Starts a ws server; resolves with its URL. */
async function startWsServer(options: ServerOptions) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => ws.send(MESSAGE));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  const { port } = wss.address() as net.AddressInfo;
  return `ws://127.0.0.1:${port}/chat`;
}

/** Runs the codec's client handshake over a real socket; resolves with the check and the socket. */
async function codecHandshake(url: string, options: Parameters<typeof buildUpgradeRequest>[1]) {
  const request = buildUpgradeRequest(url, options);
  const { port } = new URL(url);
  const socket = net.connect(Number(port), '127.0.0.1');
  cleanups.push(() => {
    socket.destroy();
  });
  socket.on('error', () => {});
  socket.write(request.bytes);
  const parser = new HttpHeadParser('response');
  const parsed = await new Promise<Extract<HttpHeadResult, { status: 'complete' }>>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const result = parser.push(view(chunk));
      if (result.status === 'incomplete') return;
      socket.off('data', onData);
      if (result.status === 'error') reject(new Error(result.message));
      else resolve(result);
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed before the response head')));
  });
  if (parsed.head.kind !== 'response') throw new Error('unexpected request head');
  const check = validateUpgradeResponse(parsed.head, {
    key: request.key,
    ...(options?.protocols ? { protocols: options.protocols } : {}),
    ...(request.offeredDeflate ? { offeredDeflate: request.offeredDeflate } : {}),
  });
  return { check, socket, rest: parsed.rest, head: parsed.head };
}

describe('buildUpgradeRequest and validateUpgradeResponse against a ws server', () => {
  it('completes the plain handshake', async () => {
    const url = await startWsServer({ perMessageDeflate: false });
    const { check } = await codecHandshake(url, {});
    expect(check).toEqual({ ok: true, protocol: undefined, deflate: undefined, extensions: '' });
  });

  it('accepts the subprotocol ws selects among the offered ones', async () => {
    const url = await startWsServer({ perMessageDeflate: false, handleProtocols: (protocols) => [...protocols].at(-1) ?? false });
    const { check } = await codecHandshake(url, { protocols: ['a', 'b'] });
    expect(check).toMatchObject({ ok: true, protocol: 'b' });
  });

  it('fails the handshake when ws selects no subprotocol although some were offered', async () => {
    const url = await startWsServer({ perMessageDeflate: false, handleProtocols: () => false });
    const { check } = await codecHandshake(url, { protocols: ['a'] });
    expect(check).toEqual({ ok: false, reason: 'the server did not choose any of the offered subprotocols' });
  });

  it('reports the status of a refused handshake', async () => {
    const url = await startWsServer({ perMessageDeflate: false, verifyClient: () => false });
    const { check } = await codecHandshake(url, {});
    expect(check).toEqual({ ok: false, reason: 'the server answered 401 Unauthorized instead of 101' });
  });

  const deflateCases: Array<{ name: string; offer: DeflateClientOptions; server: Exclude<ServerOptions['perMessageDeflate'], boolean | undefined> }> = [
    { name: 'defaults', offer: {}, server: {} },
    { name: 'ws limits both windows', offer: {}, server: { serverMaxWindowBits: 10, clientMaxWindowBits: 11 } },
    { name: 'the client asks for a smaller server window', offer: { serverMaxWindowBits: 12 }, server: {} },
    { name: 'context resets both ways', offer: { serverNoContextTakeover: true }, server: { clientNoContextTakeover: true } },
  ];

  for (const { name, offer, server } of deflateCases) {
    it(`agrees with ws on permessage-deflate and inflates its compressed message: ${name}`, async () => {
      const url = await startWsServer({ perMessageDeflate: { ...server, threshold: 0 } });
      const { check, socket, rest } = await codecHandshake(url, { perMessageDeflate: offer });
      if (!check.ok) throw new Error(check.reason);
      const params = check.deflate;
      if (!params) throw new Error('deflate declined');
      if (server.serverMaxWindowBits) expect(params.serverMaxWindowBits).toBe(server.serverMaxWindowBits);
      if (offer.serverMaxWindowBits) expect(params.serverMaxWindowBits).toBeLessThanOrEqual(offer.serverMaxWindowBits);
      if (server.clientMaxWindowBits) expect(params.clientMaxWindowBits).toBe(server.clientMaxWindowBits);
      expect(params.serverNoContextTakeover).toBe(offer.serverNoContextTakeover === true || server.serverNoContextTakeover === true);
      expect(params.clientNoContextTakeover).toBe(server.clientNoContextTakeover === true);

      const frame = await readFrame(socket, rest);
      expect(frame.rsv1).toBe(true);
      expect(inflate(frame.payload, params.serverMaxWindowBits)).toBe(MESSAGE);
    });
  }
});
