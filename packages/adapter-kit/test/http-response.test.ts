// The refusals every server writes before a handler runs: parsed back with the codec's own
// HTTP head parser, whatever the status, body and headers.
import fc from 'fast-check';
import { HttpHeadParser, type HttpResponseHead } from '@switchyard/codec';
import { describe, expect, it } from 'vitest';
import { REASON_PHRASES, httpResponse } from '../src/server/http-response.js';

const decoder = new TextDecoder();

function parse(bytes: Uint8Array): { head: HttpResponseHead; body: string } {
  const result = new HttpHeadParser('response').push(bytes);
  if (result.status !== 'complete') throw new Error(`unparsable response: ${result.status}`);
  return { head: result.head as HttpResponseHead, body: decoder.decode(result.rest) };
}

const valuesOf = (head: HttpResponseHead, name: string): string[] =>
  head.headers.filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);

describe('httpResponse', () => {
  it('frames any status and body exactly: one Content-Length, Connection: close', () => {
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 599 }), fc.string({ maxLength: 200 }), (status, body) => {
        const { head, body: received } = parse(httpResponse(status, body));
        expect(head.status).toBe(status);
        expect(received).toBe(body);
        expect(valuesOf(head, 'content-length')).toEqual([String(new TextEncoder().encode(body).byteLength)]);
        expect(valuesOf(head, 'connection')).toEqual(['close']);
        if (REASON_PHRASES[status] !== undefined) expect(head.statusText).toBe(REASON_PHRASES[status]);
      }),
    );
  });

  it('drops headers that could split the response and the framing headers a caller passes', () => {
    const bytes = httpResponse(401, 'no', [
      ['X-Evil', 'a\r\nSet-Cookie: stolen=1'],
      ['Bad Name', 'x'],
      ['Content-Length', '999'],
      ['Transfer-Encoding', 'chunked'],
      ['WWW-Authenticate', 'Bearer'],
    ]);
    const { head, body } = parse(bytes);
    expect(body).toBe('no');
    expect(valuesOf(head, 'set-cookie')).toEqual([]);
    expect(valuesOf(head, 'x-evil')).toEqual([]);
    expect(valuesOf(head, 'content-length')).toEqual(['2']);
    expect(valuesOf(head, 'transfer-encoding')).toEqual([]);
    expect(valuesOf(head, 'www-authenticate')).toEqual(['Bearer']);
  });

  it("keeps a caller's Connection options next to close (426 with Upgrade)", () => {
    const { head } = parse(httpResponse(426, 'upgrade', [['Upgrade', 'websocket'], ['Connection', 'Upgrade, keep-alive']]));
    expect(valuesOf(head, 'connection')).toEqual(['Upgrade, close']);
    expect(valuesOf(head, 'upgrade')).toEqual(['websocket']);
  });

  it('types a body as text unless the caller did', () => {
    expect(valuesOf(parse(httpResponse(403, 'no')).head, 'content-type')).toEqual(['text/plain; charset=utf-8']);
    expect(valuesOf(parse(httpResponse(403, '{}', [['Content-Type', 'application/json']])).head, 'content-type')).toEqual(['application/json']);
    expect(valuesOf(parse(httpResponse(404)).head, 'content-type')).toEqual([]);
  });
});
