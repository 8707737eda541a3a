import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HeaderList } from '@switchyard/codec';
import { isSafeHeader } from './headers.js';

/**
 * A complete HTTP/1.1 response for refusing an upgrade in the adapter (authentication,
 * path, capacity). Protocol refusals (bad key, version, origin) come ready-made from the codec.
 */
export function formatHttpResponse(status: number, headers: HeaderList = [], body = ''): Buffer {
  const text = STATUS_CODES[status] ?? 'Unknown';
  const bodyBytes = Buffer.from(body);
  let head = `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n`;
  let hasType = false;
  for (const [name, value] of headers) {
    if (!isSafeHeader(name, value)) continue;
    const lower = name.toLowerCase();
    if (lower === 'connection' || lower === 'content-length') continue;
    if (lower === 'content-type') hasType = true;
    head += `${name}: ${value}\r\n`;
  }
  if (bodyBytes.length > 0 && !hasType) head += 'Content-Type: text/plain; charset=utf-8\r\n';
  head += `Content-Length: ${bodyBytes.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bodyBytes]);
}

/** Writes a response (if the socket still takes writes) and ends the socket; never throws. */
export function refuse(socket: Duplex, response: Uint8Array): void {
  if (socket.writable && !socket.destroyed) {
    socket.end(response);
    // A peer that never reads must not keep the socket forever.
    setTimeout(() => socket.destroy(), 2000).unref();
  } else {
    socket.destroy();
  }
}
