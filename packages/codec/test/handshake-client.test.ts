import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildUpgradeRequest,
  computeAccept,
  HandshakeError,
  HttpHeadParser,
  resolveWebSocketUrl,
  validateUpgradeRequest,
  validateUpgradeResponse,
  type HeaderList,
  type HttpRequestHead,
  type HttpResponseHead,
} from '../src/index.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
const text = (data: Uint8Array): string => String.fromCharCode(...data);

function parseRequest(bytes: Uint8Array): HttpRequestHead {
  const result = new HttpHeadParser('request').push(bytes);
  if (result.status !== 'complete' || result.head.kind !== 'request') throw new Error(`unparsable: ${text(bytes)}`);
  return result.head;
}

function response(headers: HeaderList, status = 101, version: '1.0' | '1.1' = '1.1'): HttpResponseHead {
  return { kind: 'response', version, status, statusText: status === 101 ? 'Switching Protocols' : 'Other', headers };
}

const GOOD: HeaderList = [
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Accept', ACCEPT],
];

describe('resolveWebSocketUrl and buildUpgradeRequest', () => {
  it('builds the RFC 6455 §1.2 request for ws://server.example.com/chat', () => {
    const built = buildUpgradeRequest('ws://server.example.com/chat', { key: KEY, protocols: ['chat', 'superchat'], origin: 'http://example.com' });
    expect(text(built.bytes)).toBe(
      'GET /chat HTTP/1.1\r\n' +
        'Host: server.example.com\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${KEY}\r\n` +
        'Sec-WebSocket-Version: 13\r\n' +
        'Origin: http://example.com\r\n' +
        'Sec-WebSocket-Protocol: chat, superchat\r\n' +
        '\r\n',
    );
    expect(built.key).toBe(KEY);
    expect(built.offeredDeflate).toBeUndefined();
  });

  it('omits default ports from Host and keeps the others', () => {
    expect(parseRequest(buildUpgradeRequest('ws://h.example:80/').bytes).headers).toContainEqual(['Host', 'h.example']);
    expect(parseRequest(buildUpgradeRequest('wss://h.example:443/').bytes).headers).toContainEqual(['Host', 'h.example']);
    expect(parseRequest(buildUpgradeRequest('ws://h.example:443/').bytes).headers).toContainEqual(['Host', 'h.example:443']);
    expect(parseRequest(buildUpgradeRequest('wss://h.example:8443/').bytes).headers).toContainEqual(['Host', 'h.example:8443']);
  });

  it('resolves ports, TLS and IPv6 literals for the transport', () => {
    expect(resolveWebSocketUrl('ws://127.0.0.1:8080/a?b=c')).toEqual({ secure: false, hostname: '127.0.0.1', port: 8080, host: '127.0.0.1:8080', target: '/a?b=c' });
    expect(resolveWebSocketUrl('wss://example.com')).toEqual({ secure: true, hostname: 'example.com', port: 443, host: 'example.com', target: '/' });
    expect(resolveWebSocketUrl('ws://[::1]:9000/')).toEqual({ secure: false, hostname: '::1', port: 9000, host: '[::1]:9000', target: '/' });
  });

  it('maps http: and https: to ws: and wss: like the WHATWG WebSocket constructor', () => {
    expect(resolveWebSocketUrl('https://example.com/x')).toMatchObject({ secure: true, port: 443, target: '/x' });
    expect(resolveWebSocketUrl('http://example.com:80/x')).toMatchObject({ secure: false, port: 80, host: 'example.com' });
  });

  it('sends path and query as the request target, and accepts URL objects', () => {
    expect(parseRequest(buildUpgradeRequest(new URL('ws://h/a/b?x=1&y=%20')).bytes).target).toBe('/a/b?x=1&y=%20');
    expect(parseRequest(buildUpgradeRequest('ws://h').bytes).target).toBe('/');
  });

  it('throws a HandshakeError for a fragment, even an empty one', () => {
    for (const url of ['ws://h/#frag', 'ws://h/#', new URL('ws://h/#x')]) {
      expect(() => buildUpgradeRequest(url)).toThrow(HandshakeError);
    }
  });

  it('throws a HandshakeError for other schemes, unparsable URLs and credentials', () => {
    for (const url of ['ftp://h/', 'not a url', 'ws://user:pass@h/', 'file:///x']) {
      let error: unknown;
      try {
        buildUpgradeRequest(url);
      } catch (caught) {
        error = caught;
      }
      expect(error, url).toBeInstanceOf(HandshakeError);
      expect((error as HandshakeError).code).toBe('ERR_INVALID_URL');
    }
  });

  it('throws a HandshakeError for protocols that are not tokens or are repeated', () => {
    expect(() => buildUpgradeRequest('ws://h/', { protocols: ['a b'] })).toThrow(HandshakeError);
    expect(() => buildUpgradeRequest('ws://h/', { protocols: ['a,b'] })).toThrow(HandshakeError);
    expect(() => buildUpgradeRequest('ws://h/', { protocols: ['a', 'a'] })).toThrow(HandshakeError);
    expect(() => buildUpgradeRequest('ws://h/', { protocols: [''] })).toThrow(HandshakeError);
  });

  it('throws a HandshakeError for headers that inject lines or replace handshake headers', () => {
    expect(() => buildUpgradeRequest('ws://h/', { headers: [['X', 'a\r\nHost: evil']] })).toThrow(HandshakeError);
    expect(() => buildUpgradeRequest('ws://h/', { headers: [['Sec-WebSocket-Key', KEY]] })).toThrow(HandshakeError);
    expect(() => buildUpgradeRequest('ws://h/', { origin: 'http://a\r\nX: 1' })).toThrow(HandshakeError);
    expect(() => buildUpgradeRequest('ws://h/', { key: 'short' })).toThrow(HandshakeError);
  });

  it('appends extra headers such as Authorization', () => {
    const head = parseRequest(buildUpgradeRequest('ws://h/', { headers: [['Authorization', 'Bearer t']] }).bytes);
    expect(head.headers.at(-1)).toEqual(['Authorization', 'Bearer t']);
  });

  it('offers permessage-deflate with client_max_window_bits when given {} and reports the offer', () => {
    const built = buildUpgradeRequest('ws://h/', { perMessageDeflate: {} });
    expect(parseRequest(built.bytes).headers).toContainEqual(['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits']);
    expect(built.offeredDeflate).toEqual({ clientMaxWindowBits: true });
  });

  it('offers every deflate parameter that is asked for', () => {
    const built = buildUpgradeRequest('ws://h/', {
      perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 },
    });
    expect(parseRequest(built.bytes).headers).toContainEqual([
      'Sec-WebSocket-Extensions',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12, ' +
        'permessage-deflate; client_no_context_takeover; client_max_window_bits=12',
    ]);
  });

  it('sends one offer when nothing constrains the server, two (the second plain) when something does', () => {
    const extensionsOf = (built: ReturnType<typeof buildUpgradeRequest>): string | undefined =>
      parseRequest(built.bytes).headers.find(([name]) => name === 'Sec-WebSocket-Extensions')?.[1];
    expect(extensionsOf(buildUpgradeRequest('ws://h/', { perMessageDeflate: {} }))).toBe('permessage-deflate; client_max_window_bits');
    expect(extensionsOf(buildUpgradeRequest('ws://h/', { perMessageDeflate: { serverMaxWindowBits: 9 } }))).toBe(
      'permessage-deflate; server_max_window_bits=9; client_max_window_bits, permessage-deflate; client_max_window_bits',
    );
  });

  it('generates a fresh key from the injected random source', () => {
    const built = buildUpgradeRequest('ws://h/', { randomBytes: (t) => t.fill(1) });
    expect(built.key).toBe('AQEBAQEBAQEBAQEBAQEBAQ==');
  });

  it('produces a request the server side accepts, for any protocols and deflate offer (property)', () => {
    const token = fc.stringMatching(/^[a-z][a-z0-9.]{0,8}$/);
    fc.assert(
      fc.property(
        fc.uniqueArray(token, { maxLength: 4 }),
        fc.option(
          fc.record(
            {
              serverNoContextTakeover: fc.boolean(),
              clientNoContextTakeover: fc.boolean(),
              serverMaxWindowBits: fc.integer({ min: 9, max: 15 }),
              clientMaxWindowBits: fc.oneof(fc.constant(true as const), fc.integer({ min: 9, max: 15 })),
            },
            { requiredKeys: [] },
          ),
          { nil: undefined },
        ),
        fc.constantFrom('ws://a.example/x', 'wss://b.example:8443/?q=1', 'ws://[::1]/'),
        (protocols, perMessageDeflate, url) => {
          const built = buildUpgradeRequest(url, { protocols, perMessageDeflate });
          const head = parseRequest(built.bytes);
          const decision = validateUpgradeRequest(head, { protocols: [...protocols].reverse(), perMessageDeflate: {} });
          if (!decision.ok) throw new Error(decision.reason);
          expect(decision.protocol).toBe(protocols.at(-1));
          expect(decision.deflate !== undefined).toBe(perMessageDeflate !== undefined);

          const answer = new HttpHeadParser('response').push(decision.response);
          if (answer.status !== 'complete' || answer.head.kind !== 'response') throw new Error('unparsable 101');
          const checked = validateUpgradeResponse(answer.head, { key: built.key, protocols, offeredDeflate: built.offeredDeflate });
          if (!checked.ok) throw new Error(checked.reason);
          expect(checked.protocol).toBe(decision.protocol);
          expect(checked.deflate).toEqual(decision.deflate);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('validateUpgradeResponse', () => {
  const expectFailure = (head: HttpResponseHead, expected: Parameters<typeof validateUpgradeResponse>[1], pattern: RegExp) => {
    const result = validateUpgradeResponse(head, expected);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(pattern);
  };

  it('accepts the RFC 6455 §1.3 response', () => {
    expect(validateUpgradeResponse(response(GOOD), { key: KEY })).toEqual({ ok: true, protocol: undefined, deflate: undefined, extensions: '' });
  });

  it('accepts Upgrade and Connection in any case, and Connection as a list', () => {
    const headers: HeaderList = [
      ['upgrade', 'WebSocket'],
      ['connection', 'keep-alive, UPGRADE'],
      ['sec-websocket-accept', ACCEPT],
    ];
    expect(validateUpgradeResponse(response(headers), { key: KEY }).ok).toBe(true);
  });

  it('takes an answer to the plain fallback offer when the server ignored the window it was asked for', () => {
    const offered = { serverMaxWindowBits: 10, clientMaxWindowBits: true as const };
    // gorilla/websocket's answer: permessage-deflate without the parameters of the first offer.
    const plain = validateUpgradeResponse(response([...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate']]), { key: KEY, offeredDeflate: offered });
    expect(plain).toMatchObject({ ok: true, deflate: { serverMaxWindowBits: 15, clientMaxWindowBits: 15 } });
    // An answer to the first offer keeps its window.
    const first = validateUpgradeResponse(response([...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate; server_max_window_bits=10']]), {
      key: KEY,
      offeredDeflate: offered,
    });
    expect(first).toMatchObject({ ok: true, deflate: { serverMaxWindowBits: 10 } });
    // A window of the server's own choosing answers the plain offer (RFC 7692 §7.1.2.1).
    const own = validateUpgradeResponse(response([...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate; server_max_window_bits=12']]), {
      key: KEY,
      offeredDeflate: offered,
    });
    expect(own).toMatchObject({ ok: true, deflate: { serverMaxWindowBits: 12 } });
    // What neither offer allows is still refused.
    expectFailure(
      response([...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits=10']]),
      { key: KEY, offeredDeflate: { serverMaxWindowBits: 10 } },
      /window_bits/,
    );
  });

  it('fails a status other than 101, naming it', () => {
    expectFailure(response(GOOD, 200), { key: KEY }, /answered 200/);
    expectFailure(response(GOOD, 403), { key: KEY }, /answered 403/);
  });

  it('fails an HTTP/1.0 101', () => {
    expectFailure(response(GOOD, 101, '1.0'), { key: KEY }, /HTTP\/1\.1/);
  });

  it('fails a missing or wrong Upgrade header', () => {
    expectFailure(response(GOOD.filter(([n]) => n !== 'Upgrade')), { key: KEY }, /Upgrade/);
    expectFailure(response([['Upgrade', 'h2c'], ...GOOD.slice(1)]), { key: KEY }, /Upgrade/);
  });

  it('fails a Connection header without the upgrade token', () => {
    expectFailure(response([GOOD[0]!, ['Connection', 'keep-alive'], GOOD[2]!]), { key: KEY }, /Connection/);
    expectFailure(response([GOOD[0]!, GOOD[2]!]), { key: KEY }, /Connection/);
  });

  it('fails a missing, duplicated or wrong Sec-WebSocket-Accept', () => {
    expectFailure(response(GOOD.slice(0, 2)), { key: KEY }, /no Sec-WebSocket-Accept/);
    expectFailure(response([...GOOD, ['Sec-WebSocket-Accept', ACCEPT]]), { key: KEY }, /more than one/);
    expectFailure(response(GOOD), { key: 'AQEBAQEBAQEBAQEBAQEBAQ==' }, /does not match/);
  });

  it('returns the protocol the server chose among the offered ones', () => {
    const result = validateUpgradeResponse(response([...GOOD, ['Sec-WebSocket-Protocol', 'chat']]), { key: KEY, protocols: ['superchat', 'chat'] });
    expect(result).toMatchObject({ ok: true, protocol: 'chat' });
  });

  it('fails a protocol that was not offered', () => {
    expectFailure(response([...GOOD, ['Sec-WebSocket-Protocol', 'other']]), { key: KEY, protocols: ['chat'] }, /not offered/);
    expectFailure(response([...GOOD, ['Sec-WebSocket-Protocol', 'chat']]), { key: KEY }, /not offered/);
    expectFailure(response([...GOOD, ['Sec-WebSocket-Protocol', 'a, b']]), { key: KEY, protocols: ['a', 'b'] }, /not offered/);
  });

  it('fails a response that picks no protocol when some were offered, as browsers do', () => {
    expectFailure(response(GOOD), { key: KEY, protocols: ['chat'] }, /did not choose/);
  });

  it('fails two Sec-WebSocket-Protocol headers', () => {
    expectFailure(
      response([...GOOD, ['Sec-WebSocket-Protocol', 'a'], ['Sec-WebSocket-Protocol', 'a']]),
      { key: KEY, protocols: ['a'] },
      /more than one/,
    );
  });

  it('returns the negotiated deflate parameters and the extensions as the server wrote them', () => {
    const result = validateUpgradeResponse(response([...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits=10']]), {
      key: KEY,
      offeredDeflate: { clientMaxWindowBits: true },
    });
    expect(result).toEqual({
      ok: true,
      protocol: undefined,
      deflate: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 10 },
      extensions: 'permessage-deflate; client_max_window_bits=10',
    });
  });

  it('fails an extension that was not offered', () => {
    expectFailure(response([...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate']]), { key: KEY }, /not offered/);
    expectFailure(response([...GOOD, ['Sec-WebSocket-Extensions', 'x-custom']]), { key: KEY, offeredDeflate: {} }, /x-custom/);
  });

  it('fails deflate accepted twice', () => {
    expectFailure(
      response([...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate'], ['Sec-WebSocket-Extensions', 'permessage-deflate']]),
      { key: KEY, offeredDeflate: {} },
      /more than one/,
    );
  });

  it('fails client_max_window_bits when the client did not offer it', () => {
    expectFailure(response([...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits=10']]), { key: KEY, offeredDeflate: {} }, /did not offer/);
  });

  it('fails a malformed extensions header', () => {
    expectFailure(response([...GOOD, ['Sec-WebSocket-Extensions', 'permessage-deflate; =']]), { key: KEY, offeredDeflate: {} }, /malformed/);
  });
});
