/**
 * Formatting of the HTTP responses a WebSocket server sends during the opening handshake: the
 * 101 that switches protocols and complete error responses (a short text/plain body,
 * `Content-Length` and `Connection: close`, so any HTTP client shows the reason and knows the
 * response is over).
 */

import { HandshakeError } from './errors.js';
import { isToken, isValidFieldValue, type HeaderList } from './headers.js';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  101: 'Switching Protocols',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  414: 'URI Too Long',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** The standard reason phrase of `status`, or an empty string for statuses not listed here. */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? '';
}

/**
 * Throws a `HandshakeError` unless every header has a token name and a value free of CR, LF and
 * other controls: headers given by the application must not be able to inject lines.
 */
export function assertValidHeaders(headers: HeaderList, what: string): void {
  for (const entry of headers) {
    const [name, value] = entry;
    if (typeof name !== 'string' || !isToken(name)) {
      throw new HandshakeError('ERR_INVALID_HEADER', `${what}: header name ${JSON.stringify(name)} is not a token`);
    }
    if (typeof value !== 'string' || !isValidFieldValue(value)) {
      throw new HandshakeError('ERR_INVALID_HEADER', `${what}: the value of ${name} holds a control character`);
    }
  }
}

/** Encodes header text (ISO-8859-1, one byte per character; values were checked to be ≤ 0xFF). */
export function encodeLatin1(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Formats a response head: status line, headers, blank line. */
export function formatResponseHead(status: number, headers: HeaderList, reasonPhrase: string = statusText(status)): Uint8Array {
  let text = `HTTP/1.1 ${status} ${reasonPhrase}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return encodeLatin1(`${text}\r\n`);
}

/** A complete error response: its headers (as written) and its bytes. */
export interface HttpErrorResponse {
  readonly headers: HeaderList;
  readonly bytes: Uint8Array;
}

const textEncoder = new TextEncoder();

/**
 * Formats a complete error response with `message` as a text/plain body. `extraHeaders` come
 * first (e.g. `Allow`, `Sec-WebSocket-Version`), then the body's headers and `Connection: close`
 * (or `Connection: Upgrade, close` when an `Upgrade` header is among them, RFC 9110 §7.8).
 */
export function formatErrorResponse(status: number, message: string, extraHeaders: HeaderList = []): HttpErrorResponse {
  assertValidHeaders(extraHeaders, 'formatErrorResponse');
  const body = textEncoder.encode(`${message}\n`);
  const announcesUpgrade = extraHeaders.some(([name]) => name.toLowerCase() === 'upgrade');
  const headers: HeaderList = [
    ...extraHeaders,
    ['Connection', announcesUpgrade ? 'Upgrade, close' : 'close'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Length', String(body.length)],
  ];
  const head = formatResponseHead(status, headers);
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  return { headers, bytes };
}
