/**
 * Test harness shared by the interop tests: a raw TCP server that answers WebSocket upgrades with
 * the codec's HttpHeadParser and validateUpgradeRequest, then reads the first frame the peer
 * sends, and the helpers to read and inflate frames.
 */
import net from 'node:net';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import {
  formatErrorResponse,
  HttpHeadParser,
  validateUpgradeRequest,
  type HttpHeadResult,
  type UpgradeDecision,
  type UpgradeServerOptions,
} from '../../src/index.js';

export type Cleanup = () => Promise<void> | void;

export const view = (chunk: Buffer): Uint8Array => new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);

/** A compressible message whose second half repeats the first at a distance of 2 KiB. */
export const MESSAGE = (() => {
  let seed = 7;
  const half = Array.from({ length: 2048 }, () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return 'abcdefghijklmnopqrstuvwxyz'[seed % 26];
  }).join('');
  return half + half;
})();

/** Reads one frame (any masking) from a byte stream; resolves with its header bits and payload. */
export function readFrame(socket: net.Socket, initial: Uint8Array): Promise<{ rsv1: boolean; opcode: number; payload: Uint8Array }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.from(initial);
    const tryParse = () => {
      if (buffered.length < 2) return;
      const b1 = buffered[1]!;
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        length = Number(buffered.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const mask = masked ? buffered.subarray(offset, offset + 4) : undefined;
      if (masked) offset += 4;
      if (buffered.length < offset + length) return;
      const payload = Uint8Array.from(buffered.subarray(offset, offset + length));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
      socket.off('data', onData);
      resolve({ rsv1: (buffered[0]! & 0x40) !== 0, opcode: buffered[0]! & 0x0f, payload });
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      tryParse();
    };
    socket.on('data', onData);
    socket.once('error', reject);
    tryParse();
  });
}

export function inflate(payload: Uint8Array, windowBits: number): string {
  const withTail = Buffer.concat([payload, Buffer.from([0x00, 0x00, 0xff, 0xff])]);
  return inflateRawSync(withTail, { windowBits, finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8');
}

/** A raw TCP server that answers upgrades with the codec and then reads one frame. */
export async function startCodecServer(cleanups: Cleanup[], options: UpgradeServerOptions) {
  const decisions: UpgradeDecision[] = [];
  const frames: Array<Promise<{ rsv1: boolean; opcode: number; payload: Uint8Array }>> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const parser = new HttpHeadParser('request');
    const onData = (chunk: Buffer) => {
      const result: HttpHeadResult = parser.push(view(chunk));
      if (result.status === 'incomplete') return;
      socket.off('data', onData);
      if (result.status === 'error') {
        socket.end(formatErrorResponse(result.httpStatus, result.message).bytes);
        return;
      }
      if (result.head.kind !== 'request') throw new Error('unexpected response head');
      const decision = validateUpgradeRequest(result.head, options);
      decisions.push(decision);
      if (!decision.ok) {
        socket.end(decision.response);
        return;
      }
      frames.push(readFrame(socket, result.rest));
      socket.write(decision.response);
    };
    socket.on('data', onData);
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
  return { url: `ws://127.0.0.1:${port}/path?q=1`, decisions, frames };
}

