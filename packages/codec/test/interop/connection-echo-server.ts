/**
 * A codec echo server for the interop tests: raw TCP, the handshake by HttpHeadParser +
 * validateUpgradeRequest, then a Connection that echoes every message, written the way an
 * adapter drives it. permessage-deflate uses node:zlib, the compressor the Node adapter builds.
 */
import net from 'node:net';
import { constants as zlibConstants, deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  Connection,
  HttpHeadParser,
  validateUpgradeRequest,
  type Compressor,
  type ConnectionEvent,
  type DeflateParams,
  type HttpRequestHead,
  type Role,
  type UpgradeServerOptions,
} from '@switchyard/codec';

export type Cleanup = () => Promise<void> | void;

export const view = (chunk: Uint8Array): Uint8Array => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
const TAIL = [0x00, 0x00, 0xff, 0xff];

/**
 * A synchronous zlib compressor for parameters without context takeover (each message is a
 * DEFLATE stream of its own, flushed with Z_SYNC_FLUSH and stripped of 00 00 ff ff).
 */
export function zlibCompressor(params: DeflateParams, role: Role): Compressor {
  const ownBits = role === 'server' ? params.serverMaxWindowBits : params.clientMaxWindowBits;
  const peerBits = role === 'server' ? params.clientMaxWindowBits : params.serverMaxWindowBits;
  return {
    compress(data) {
      const out = view(deflateRawSync(data, { windowBits: ownBits, finishFlush: zlibConstants.Z_SYNC_FLUSH }));
      const hasTail = out.length >= 4 && TAIL.every((b, i) => out[out.length - 4 + i] === b);
      return hasTail ? out.subarray(0, out.length - 4) : out;
    },
    decompress(chunks, maxSize) {
      const input = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const chunk of chunks) {
        input.set(chunk, at);
        at += chunk.length;
      }
      try {
        const out = inflateRawSync(input, { windowBits: Math.max(peerBits, 9), finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: maxSize + 1 });
        return out.length > maxSize ? null : view(out);
      } catch (error) {
        if (error instanceof RangeError) return null;
        throw error;
      }
    },
    dispose() {},
  };
}

export interface EchoServer {
  url: string;
  logs: ConnectionEvent[][];
  connections: Connection[];
  /** Runs `action` on connection `index`, then writes what it queued (the adapter's flush). */
  act(index: number, action: (connection: Connection) => void): void;
}

/** A raw TCP server: codec handshake, then a Connection that echoes every message. */
export async function startEchoServer(cleanups: Cleanup[], options: UpgradeServerOptions = {}): Promise<EchoServer> {
  const logs: ConnectionEvent[][] = [];
  const connections: Connection[] = [];
  const flushes: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const parser = new HttpHeadParser('request');
    const log: ConnectionEvent[] = [];
    logs.push(log);
    let connection: Connection | undefined;
    const flush = () => {
      if (connection === undefined) return;
      for (const event of connection.takeEvents()) {
        log.push(event);
        if (connection.state !== 'open') continue;
        if (event.type === 'text') connection.sendText(event.data);
        if (event.type === 'binary') connection.sendBinary(event.data);
      }
      for (const chunk of connection.takeOutput()) socket.write(chunk);
      if (connection.transportAction === 'end-transport') socket.end();
    };
    socket.on('data', (chunk: Uint8Array) => {
      if (connection !== undefined) {
        connection.receive(view(chunk));
        flush();
        return;
      }
      const result = parser.push(view(chunk));
      if (result.status === 'incomplete') return;
      if (result.status === 'error') return void socket.end();
      const decision = validateUpgradeRequest(result.head as HttpRequestHead, options);
      socket.write(decision.response);
      if (!decision.ok) return void socket.end();
      const deflate = decision.deflate;
      connection = new Connection({
        role: 'server',
        perMessageDeflate: deflate ? { params: deflate, compressor: zlibCompressor(deflate, 'server'), threshold: 0 } : undefined,
        onWakeup: flush,
      });
      connections.push(connection);
      flushes.push(flush);
      if (result.rest.length > 0) connection.receive(result.rest);
      flush();
    });
    socket.on('end', () => {
      connection?.receiveEnd();
      flush();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    logs,
    connections,
    act: (index, action) => {
      action(connections[index]!);
      flushes[index]!();
    },
  };
}
