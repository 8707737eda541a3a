import { describe, expect, it } from 'vitest';
import { formatErrorResponse, formatResponseHead, HandshakeError, HttpHeadParser, statusText } from '../src/index.js';

const text = (data: Uint8Array): string => String.fromCharCode(...data);

describe('formatResponseHead', () => {
  it('writes the status line, the headers in order and the blank line', () => {
    expect(text(formatResponseHead(101, [['Upgrade', 'websocket'], ['Connection', 'Upgrade']]))).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    );
  });

  it('knows the reason phrases of the statuses the handshake uses', () => {
    expect([101, 400, 403, 405, 414, 426, 431, 505].map(statusText)).toEqual([
      'Switching Protocols',
      'Bad Request',
      'Forbidden',
      'Method Not Allowed',
      'URI Too Long',
      'Upgrade Required',
      'Request Header Fields Too Large',
      'HTTP Version Not Supported',
    ]);
  });
});

describe('formatErrorResponse', () => {
  it('writes a complete response with a text/plain body, its length and Connection: close', () => {
    const { bytes, headers } = formatErrorResponse(400, 'the Host header is missing');
    expect(text(bytes)).toBe(
      'HTTP/1.1 400 Bad Request\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 27\r\n' +
        '\r\n' +
        'the Host header is missing\n',
    );
    expect(headers).toEqual([
      ['Connection', 'close'],
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Content-Length', '27'],
    ]);
  });

  it('counts the body length in UTF-8 bytes', () => {
    const { bytes } = formatErrorResponse(403, 'origin https://café.example is not allowed');
    const parsed = new HttpHeadParser('response').push(bytes);
    if (parsed.status !== 'complete') throw new Error('unparsable');
    const length = parsed.head.headers.find(([name]) => name === 'Content-Length')?.[1];
    expect(Number(length)).toBe(parsed.rest.length);
    expect(new TextDecoder().decode(parsed.rest)).toBe('origin https://café.example is not allowed\n');
  });

  it('puts extra headers first and adds the upgrade option to Connection when Upgrade is among them', () => {
    const { headers } = formatErrorResponse(426, 'version', [
      ['Sec-WebSocket-Version', '13'],
      ['Upgrade', 'websocket'],
    ]);
    expect(headers.slice(0, 3)).toEqual([
      ['Sec-WebSocket-Version', '13'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade, close'],
    ]);
  });

  it('throws a HandshakeError for extra headers that could inject lines', () => {
    expect(() => formatErrorResponse(400, 'x', [['X-A', 'a\nb']])).toThrow(HandshakeError);
    expect(() => formatErrorResponse(400, 'x', [['X A', 'a']])).toThrow(HandshakeError);
  });
});
