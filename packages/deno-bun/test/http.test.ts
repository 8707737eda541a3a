// The HTTP glue around the codec's head parser: requests for `fetch`/`authenticate`, and the
// serialisation of `Response`s. Runtime-neutral, so it runs on Node too.
import fc from 'fast-check';
import { HttpHeadParser, type HttpResponseHead } from '@switchyard/codec';
import { describe, expect, it } from 'vitest';
import { isWebSocketUpgrade, serializeResponse, toRequest } from '../src/http.js';

const decoder = new TextDecoder();

function parseResponse(chunks: readonly Uint8Array[]): { head: HttpResponseHead; body: string } {
  const parser = new HttpHeadParser('response');
  const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
  const result = parser.push(all);
  if (result.status !== 'complete') throw new Error(`unparsable response: ${result.status}`);
  return { head: result.head as HttpResponseHead, body: decoder.decode(result.rest) };
}

describe('http glue', () => {
  it('serialises any status, headers and body into a response the codec parses back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 205 && s !== 304),
        fc.string({ maxLength: 200 }),
        fc.array(fc.tuple(fc.stringMatching(/^x-[a-z]{1,10}$/), fc.stringMatching(/^[a-zA-Z0-9 ]{0,20}$/)), { maxLength: 5 }),
        async (status, body, headers) => {
          const response = new Response(body, { status, headers: headers.map(([k, v]) => [k, v.trim()] as [string, string]) });
          const { head, body: parsedBody } = parseResponse(await serializeResponse(response, 'GET'));
          expect(head.status).toBe(status);
          expect(parsedBody).toBe(body);
          const lower = head.headers.map(([k, v]) => [k.toLowerCase(), v] as const);
          expect(lower).toContainEqual(['content-length', String(new TextEncoder().encode(body).byteLength)]);
          expect(lower).toContainEqual(['connection', 'close']);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('keeps every Set-Cookie, and sends no body for HEAD, 204 and 304', async () => {
    const headers = new Headers();
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    const { head } = parseResponse(await serializeResponse(new Response('x', { headers }), 'GET'));
    expect(head.headers.filter(([k]) => k.toLowerCase() === 'set-cookie').map(([, v]) => v)).toEqual(['a=1', 'b=2']);
    for (const [status, method] of [[200, 'HEAD'], [204, 'GET'], [304, 'GET']] as const) {
      const chunks = await serializeResponse(new Response(status === 200 ? 'body' : null, { status }), method);
      expect(chunks).toHaveLength(1);
      expect(decoder.decode(chunks[0]).endsWith('\r\n\r\n')).toBe(true);
    }
  });

  it('builds WHATWG requests from heads, and refuses what cannot be one', () => {
    const request = toRequest(
      { kind: 'request', method: 'POST', target: '/a?b=1', version: '1.1', headers: [['Host', 'example.com:8080'], ['X-Two', 'x'], ['X-Two', 'y']] },
      'https',
      'fallback:1',
      new TextEncoder().encode('payload'),
    );
    expect(request?.url).toBe('https://example.com:8080/a?b=1');
    expect(request?.headers.get('x-two')).toBe('x, y');
    expect(toRequest({ kind: 'request', method: 'GET', target: '/', version: '1.1', headers: [] }, 'http', '127.0.0.1:9')?.url).toBe('http://127.0.0.1:9/');
    expect(toRequest({ kind: 'request', method: 'GET', target: '/', version: '1.1', headers: [['Host', 'bad host']] }, 'http', 'x')).toBeUndefined();
  });

  it('recognises upgrade requests by token, case-insensitively', () => {
    expect(isWebSocketUpgrade([['Upgrade', 'WebSocket']])).toBe(true);
    expect(isWebSocketUpgrade([['upgrade', 'h2c, websocket']])).toBe(true);
    expect(isWebSocketUpgrade([['Upgrade', 'websockets']])).toBe(false);
    expect(isWebSocketUpgrade([['Connection', 'websocket']])).toBe(false);
  });

});
