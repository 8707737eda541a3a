import type { HeaderList, HttpRequestHead } from '@switchyard/codec';
import { REASON_PHRASES } from '@switchyard/adapter-kit';

const encoder = new TextEncoder();

/** Where a request came from, as Deno.serve's and Bun.serve's handlers see it. */
export interface RequestInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** Builds a WHATWG `Request` from a parsed head, so handlers get the runtime's own type. */
export function toRequest(
  head: HttpRequestHead,
  scheme: 'http' | 'https',
  fallbackHost: string,
  body?: Uint8Array,
  signal?: AbortSignal,
): Request | undefined {
  try {
    const headers = new Headers();
    let host: string | undefined;
    for (const [name, value] of head.headers) {
      headers.append(name, value);
      if (host === undefined && name.toLowerCase() === 'host') host = value;
    }
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(head.target)
      ? new URL(head.target)
      : new URL(head.target, `${scheme}://${host ?? fallbackHost}`);
    const init: RequestInit = { method: head.method, headers };
    if (signal) init.signal = signal;
    if (body && body.byteLength > 0 && head.method !== 'GET' && head.method !== 'HEAD') init.body = body as BodyInit;
    return new Request(url, init);
  } catch {
    return undefined;
  }
}

/** A header's first value, compared case-insensitively. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of headers) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** True when the request asks for a protocol upgrade to WebSocket (whether or not it is valid). */
export function isWebSocketUpgrade(headers: HeaderList): boolean {
  for (const [key, value] of headers) {
    if (key.toLowerCase() === 'upgrade' && /(^|[\s,])websocket($|[\s,])/i.test(value)) return true;
  }
  return false;
}

/** Statuses whose responses carry no body (RFC 9110 §6.4.1). */
function bodyless(status: number, method: string): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * Serialises a `Response` as an HTTP/1.1 response that ends the connection (`Connection: close`):
 * this server answers one plain request per connection, which is what a page load followed by a
 * WebSocket needs, and keeps the adapter free of an HTTP keep-alive state machine.
 */
export async function serializeResponse(response: Response, method: string): Promise<Uint8Array[]> {
  const noBody = bodyless(response.status, method);
  const body = noBody ? new Uint8Array(0) : new Uint8Array(await response.arrayBuffer());
  let head = `HTTP/1.1 ${response.status} ${response.statusText || REASON_PHRASES[response.status] || 'Status'}\r\n`;
  for (const [name, value] of response.headers) {
    const lower = name.toLowerCase();
    if (lower === 'connection' || lower === 'content-length' || lower === 'transfer-encoding' || lower === 'set-cookie') continue;
    head += `${name}: ${value}\r\n`;
  }
  for (const cookie of response.headers.getSetCookie()) head += `set-cookie: ${cookie}\r\n`;
  if (!noBody) head += `content-length: ${body.byteLength}\r\n`;
  head += 'connection: close\r\n\r\n';
  return body.byteLength > 0 ? [encoder.encode(head), body] : [encoder.encode(head)];
}

