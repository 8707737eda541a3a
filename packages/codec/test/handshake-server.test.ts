import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeAccept,
  HandshakeError,
  HttpHeadParser,
  validateUpgradeRequest,
  type HeaderList,
  type UpgradeDecision,
  type UpgradeServerOptions,
} from '../src/index.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const text = (data: Uint8Array): string => String.fromCharCode(...data);

const BASE: HeaderList = [
  ['Host', 'server.example.com'],
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', KEY],
  ['Sec-WebSocket-Version', '13'],
];

/** The base request with headers replaced (null removes one) and lines appended. */
function headersWith(changes: Record<string, string | null> = {}, extra: HeaderList = []): HeaderList {
  const lower = Object.fromEntries(Object.entries(changes).map(([k, v]) => [k.toLowerCase(), v]));
  const result: Array<readonly [string, string]> = [];
  for (const [name, value] of BASE) {
    const change = lower[name.toLowerCase()];
    if (change === null) continue;
    result.push([name, change ?? value]);
  }
  for (const [name, value] of Object.entries(changes)) {
    if (value !== null && !BASE.some(([n]) => n.toLowerCase() === name.toLowerCase())) result.push([name, value]);
  }
  return [...result, ...extra];
}

function decide(headers: HeaderList = BASE, options?: UpgradeServerOptions, method = 'GET', version: '1.0' | '1.1' = '1.1'): UpgradeDecision {
  return validateUpgradeRequest({ method, version, headers }, options);
}

function expectRejected(decision: UpgradeDecision, status: number): Extract<UpgradeDecision, { ok: false }> {
  expect(decision.ok).toBe(false);
  if (decision.ok) throw new Error('accepted');
  expect(decision.status).toBe(status);
  return decision;
}

function expectAccepted(decision: UpgradeDecision): Extract<UpgradeDecision, { ok: true }> {
  if (!decision.ok) throw new Error(`rejected: ${decision.status} ${decision.reason}`);
  return decision;
}

/** Parses an error response and checks it is a complete HTTP/1.1 response. */
function parseResponse(bytes: Uint8Array) {
  const result = new HttpHeadParser('response').push(bytes);
  if (result.status !== 'complete' || result.head.kind !== 'response') throw new Error(`unparsable response: ${text(bytes)}`);
  return { head: result.head, body: new TextDecoder().decode(result.rest) };
}

describe('validateUpgradeRequest: accepting', () => {
  it('answers the RFC 6455 §1.3 key with exactly the §4.2.2 response bytes', () => {
    const decision = expectAccepted(decide());
    expect(text(decision.response)).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        '\r\n',
    );
    expect(decision).toMatchObject({ ok: true, key: KEY, protocol: undefined, deflate: undefined });
    expect(decision.responseHeaders).toEqual([
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
    ]);
  });

  it('finds the upgrade token in a Connection list such as "keep-alive, Upgrade"', () => {
    expectAccepted(decide(headersWith({ Connection: 'keep-alive, Upgrade' })));
  });

  it('matches Connection and Upgrade tokens case-insensitively', () => {
    expectAccepted(decide(headersWith({ Connection: 'uPgRaDe', Upgrade: 'WebSocket' })));
  });

  it('finds the upgrade token when Connection is split over several lines', () => {
    expectAccepted(decide(headersWith({ Connection: 'keep-alive' }, [['Connection', 'Upgrade']])));
  });

  it('finds websocket in an Upgrade list holding other protocols', () => {
    expectAccepted(decide(headersWith({ Upgrade: 'h2c, HTTP/2.0, websocket' })));
  });

  it('matches header names case-insensitively', () => {
    expectAccepted(decide(BASE.map(([name, value]) => [name.toUpperCase(), value] as const)));
    expectAccepted(decide(BASE.map(([name, value]) => [name.toLowerCase(), value] as const)));
  });

  it('ignores optional whitespace around the key', () => {
    const decision = expectAccepted(decide(headersWith({ 'Sec-WebSocket-Key': `  ${KEY}\t` })));
    expect(decision.key).toBe(KEY);
    expect(text(decision.response)).toContain(`Sec-WebSocket-Accept: ${computeAccept(KEY)}\r\n`);
  });

  it('appends extraHeaders to the 101', () => {
    const decision = expectAccepted(decide(BASE, { extraHeaders: [['Set-Cookie', 'a=1'], ['X-Server', 'switchyard']] }));
    expect(text(decision.response)).toMatch(/Sec-WebSocket-Accept: [^\r]+\r\nSet-Cookie: a=1\r\nX-Server: switchyard\r\n\r\n$/);
    expect(decision.responseHeaders.slice(-2)).toEqual([
      ['Set-Cookie', 'a=1'],
      ['X-Server', 'switchyard'],
    ]);
  });
});

describe('validateUpgradeRequest: rejecting', () => {
  it('rejects POST with 405 and Allow: GET', () => {
    const rejected = expectRejected(decide(BASE, {}, 'POST'), 405);
    expect(rejected.responseHeaders).toContainEqual(['Allow', 'GET']);
  });

  it('rejects a lower-case "get" (methods are case-sensitive) with 405', () => {
    expectRejected(decide(BASE, {}, 'get'), 405);
  });

  it('rejects HTTP/1.0 with 400', () => {
    expectRejected(decide(BASE, {}, 'GET', '1.0'), 400);
  });

  it('rejects a request without Host with 400', () => {
    expectRejected(decide(headersWith({ Host: null })), 400);
  });

  it('rejects a request with two Host headers with 400', () => {
    expectRejected(decide(headersWith({}, [['host', 'evil.example']])), 400);
  });

  it('rejects a request without Upgrade with 400', () => {
    expectRejected(decide(headersWith({ Upgrade: null })), 400);
  });

  it('rejects "Upgrade: h2c" with 400', () => {
    expectRejected(decide(headersWith({ Upgrade: 'h2c' })), 400);
  });

  it('rejects a request without Connection with 400', () => {
    expectRejected(decide(headersWith({ Connection: null })), 400);
  });

  it('rejects "Connection: keep-alive" without the upgrade token with 400', () => {
    expectRejected(decide(headersWith({ Connection: 'keep-alive' })), 400);
  });

  it('finds the upgrade token next to an element that is not a token', () => {
    expectAccepted(decide(headersWith({ Connection: 'keep-alive, x y, Upgrade' })));
  });

  it('does not take "Connection: upgraded" for the upgrade token', () => {
    expectRejected(decide(headersWith({ Connection: 'upgraded' })), 400);
  });

  it('rejects a missing Sec-WebSocket-Key with 400', () => {
    expectRejected(decide(headersWith({ 'Sec-WebSocket-Key': null })), 400);
  });

  it('rejects an empty Sec-WebSocket-Key with 400', () => {
    expectRejected(decide(headersWith({ 'Sec-WebSocket-Key': '' })), 400);
  });

  it('rejects a Sec-WebSocket-Key that is not base64 with 400', () => {
    expectRejected(decide(headersWith({ 'Sec-WebSocket-Key': 'this is not base64!!' })), 400);
  });

  it('rejects a Sec-WebSocket-Key of 15 or 17 bytes with 400', () => {
    expectRejected(decide(headersWith({ 'Sec-WebSocket-Key': 'AAAAAAAAAAAAAAAAAAAA' })), 400);
    expectRejected(decide(headersWith({ 'Sec-WebSocket-Key': 'AAAAAAAAAAAAAAAAAAAAAAA=' })), 400);
  });

  it('rejects two Sec-WebSocket-Key headers with 400', () => {
    expectRejected(decide(headersWith({}, [['Sec-WebSocket-Key', 'AQIDBAUGBwgJCgsMDQ4PEA==']])), 400);
  });

  it('rejects version 14 with 426 and Sec-WebSocket-Version: 13', () => {
    const rejected = expectRejected(decide(headersWith({ 'Sec-WebSocket-Version': '14' })), 426);
    expect(rejected.responseHeaders).toContainEqual(['Sec-WebSocket-Version', '13']);
    // RFC 9110 §15.5.22: a 426 names the protocol to upgrade to.
    expect(rejected.responseHeaders).toContainEqual(['Upgrade', 'websocket']);
  });

  it('rejects version 8 (hybi drafts) and 25 with 426', () => {
    expectRejected(decide(headersWith({ 'Sec-WebSocket-Version': '8' })), 426);
    expectRejected(decide(headersWith({ 'Sec-WebSocket-Version': '25' })), 426);
  });

  it('rejects a version outside the RFC 6455 ABNF ("abc", "013", "256") with 400 and the supported version', () => {
    for (const version of ['abc', '013', '256', '', '13, 8']) {
      const rejected = expectRejected(decide(headersWith({ 'Sec-WebSocket-Version': version })), 400);
      expect(rejected.responseHeaders).toContainEqual(['Sec-WebSocket-Version', '13']);
    }
  });

  it('rejects a missing Sec-WebSocket-Version with 400 and the supported version', () => {
    const rejected = expectRejected(decide(headersWith({ 'Sec-WebSocket-Version': null })), 400);
    expect(rejected.responseHeaders).toContainEqual(['Sec-WebSocket-Version', '13']);
  });

  it('rejects two Sec-WebSocket-Version headers with 400', () => {
    expectRejected(decide(headersWith({}, [['Sec-WebSocket-Version', '13']])), 400);
  });

  it('rejects more header lines than maxHeaders with 431', () => {
    const many: HeaderList = Array.from({ length: 200 }, (_, i) => [`X-${i}`, String(i)] as const);
    expectRejected(decide(headersWith({}, many)), 431);
    expectAccepted(decide(headersWith({}, many), { maxHeaders: 300 }));
  });

  it('answers every rejection with a complete HTTP/1.1 response: text/plain body, Content-Length, Connection: close', () => {
    const rejected = expectRejected(decide(headersWith({ 'Sec-WebSocket-Key': null })), 400);
    const { head, body } = parseResponse(rejected.response);
    expect(head.status).toBe(400);
    expect(head.statusText).toBe('Bad Request');
    const headers = new Map(head.headers.map(([n, v]) => [n.toLowerCase(), v]));
    expect(headers.get('connection')).toBe('close');
    expect(headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(Number(headers.get('content-length'))).toBe(new TextEncoder().encode(body).length);
    expect(body).toBe(`${rejected.reason}\n`);
    expect(rejected.responseHeaders).toEqual(head.headers);
  });
});

describe('validateUpgradeRequest: origins', () => {
  const withOrigin = (origin: string) => headersWith({ Origin: origin });

  it('accepts an origin from the allow-list, compared case-insensitively', () => {
    expectAccepted(decide(withOrigin('https://App.Example.com'), { origins: ['https://app.example.com'] }));
  });

  it('refuses an origin outside the allow-list with 403', () => {
    expectRejected(decide(withOrigin('https://evil.example'), { origins: ['https://app.example.com'] }), 403);
  });

  it('refuses a request without Origin when an allow-list is given', () => {
    expectRejected(decide(BASE, { origins: ['https://app.example.com'] }), 403);
  });

  it('leaves the decision to a function, including for requests without Origin', () => {
    const seen: Array<string | undefined> = [];
    const origins = (origin: string | undefined) => {
      seen.push(origin);
      return origin === undefined || origin.endsWith('.example.com');
    };
    expectAccepted(decide(BASE, { origins }));
    expectAccepted(decide(withOrigin('https://a.example.com'), { origins }));
    expectRejected(decide(withOrigin('https://example.org'), { origins }), 403);
    expect(seen).toEqual([undefined, 'https://a.example.com', 'https://example.org']);
  });

  it('rejects two Origin headers with 400', () => {
    expectRejected(decide(headersWith({ Origin: 'https://a.example.com' }, [['Origin', 'https://b.example.com']])), 400);
  });

  it('ignores Origin when no origins option is given', () => {
    expectAccepted(decide(withOrigin('https://anything.example')));
  });
});

describe('validateUpgradeRequest: subprotocols', () => {
  const offering = (...values: string[]) => headersWith({}, values.map((v) => ['Sec-WebSocket-Protocol', v] as const));

  it('picks the first protocol of the server list that the client offered (server preference)', () => {
    const decision = expectAccepted(decide(offering('chat.v1, chat.v2'), { protocols: ['chat.v2', 'chat.v1'] }));
    expect(decision.protocol).toBe('chat.v2');
    expect(text(decision.response)).toContain('\r\nSec-WebSocket-Protocol: chat.v2\r\n');
  });

  it('reads offers spread over several Sec-WebSocket-Protocol headers', () => {
    expect(expectAccepted(decide(offering('a', 'b, c'), { protocols: ['c'] })).protocol).toBe('c');
  });

  it('answers no protocol when the client offered none of the server list', () => {
    const decision = expectAccepted(decide(offering('a, b'), { protocols: ['c'] }));
    expect(decision.protocol).toBeUndefined();
    expect(text(decision.response)).not.toContain('Sec-WebSocket-Protocol');
  });

  it('answers no protocol when the server has no protocols option', () => {
    expect(expectAccepted(decide(offering('a, b'))).protocol).toBeUndefined();
  });

  it('answers the protocol a selection function returns', () => {
    const seen: Array<readonly string[]> = [];
    const decision = expectAccepted(
      decide(offering('a, b'), {
        protocols: (offered) => {
          seen.push(offered);
          return offered.at(-1);
        },
      }),
    );
    expect(decision.protocol).toBe('b');
    expect(seen).toEqual([['a', 'b']]);
  });

  it('never answers a protocol the client did not offer, even if the function returns one', () => {
    expect(expectAccepted(decide(offering('a'), { protocols: () => 'z' })).protocol).toBeUndefined();
    expect(expectAccepted(decide(BASE, { protocols: () => 'z' })).protocol).toBeUndefined();
  });

  it('compares protocols case-sensitively', () => {
    expect(expectAccepted(decide(offering('Chat'), { protocols: ['chat'] })).protocol).toBeUndefined();
  });

  it('rejects a protocol offer that is not a token list with 400', () => {
    expectRejected(decide(offering('a b')), 400);
    expectRejected(decide(offering('a;b')), 400);
  });

  it('rejects a protocol offered twice with 400', () => {
    expectRejected(decide(offering('a, a')), 400);
    expectRejected(decide(offering('a', 'a')), 400);
  });

  it('ignores empty list elements in the protocol offer', () => {
    expect(expectAccepted(decide(offering(', a ,,'), { protocols: ['a'] })).protocol).toBe('a');
  });
});

describe('validateUpgradeRequest: permessage-deflate', () => {
  const offering = (value: string) => headersWith({ 'Sec-WebSocket-Extensions': value });

  it('declines an offer when perMessageDeflate is not enabled', () => {
    const decision = expectAccepted(decide(offering('permessage-deflate; client_max_window_bits')));
    expect(decision.deflate).toBeUndefined();
    expect(text(decision.response)).not.toContain('Sec-WebSocket-Extensions');
  });

  it('accepts an offer with the defaults when perMessageDeflate is {}', () => {
    const decision = expectAccepted(decide(offering('permessage-deflate; client_max_window_bits'), { perMessageDeflate: {} }));
    expect(decision.deflate).toEqual({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 });
    expect(text(decision.response)).toContain('\r\nSec-WebSocket-Extensions: permessage-deflate\r\n');
  });

  it('answers with the negotiated parameters', () => {
    const decision = expectAccepted(
      decide(offering('permessage-deflate; client_max_window_bits'), {
        perMessageDeflate: { serverNoContextTakeover: true, clientMaxWindowBits: 10, serverMaxWindowBits: 12 },
      }),
    );
    expect(decision.deflate).toEqual({ serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 12, clientMaxWindowBits: 10 });
    expect(decision.responseHeaders).toContainEqual([
      'Sec-WebSocket-Extensions',
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=10',
    ]);
  });

  it('reads offers spread over several Sec-WebSocket-Extensions headers and skips other extensions', () => {
    const headers = headersWith({ 'Sec-WebSocket-Extensions': 'x-webkit-deflate-frame' }, [['Sec-WebSocket-Extensions', 'permessage-deflate']]);
    expect(expectAccepted(decide(headers, { perMessageDeflate: {} })).deflate).toBeDefined();
  });

  it('declines malformed offers (101 without the extension), as the conformance suite expects', () => {
    const malformed = [
      'permessage-deflate; server_max_window_bits=7',
      'permessage-deflate; server_max_window_bits=16',
      'permessage-deflate; server_max_window_bits=abc',
      'permessage-deflate; server_max_window_bits=010',
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; client_max_window_bits=7',
      'permessage-deflate; client_max_window_bits=16',
      'permessage-deflate; foo',
      'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      'permessage-deflate; server_no_context_takeover=1',
      'permessage-deflate; ;',
      'permessage-deflate; x="unterminated',
    ];
    for (const offer of malformed) {
      const decision = expectAccepted(decide(offering(offer), { perMessageDeflate: {} }));
      expect(decision.deflate, offer).toBeUndefined();
      expect(text(decision.response), offer).not.toContain('Sec-WebSocket-Extensions');
    }
  });

  it('skips a malformed offer and takes the next valid one', () => {
    const decision = expectAccepted(decide(offering('permessage-deflate; foo, permessage-deflate'), { perMessageDeflate: {} }));
    expect(decision.responseHeaders).toContainEqual(['Sec-WebSocket-Extensions', 'permessage-deflate']);
  });
});

describe('validateUpgradeRequest: options are checked', () => {
  it('throws a HandshakeError for extraHeaders that could inject lines', () => {
    expect(() => decide(BASE, { extraHeaders: [['X-A', 'a\r\nX-Injected: 1']] })).toThrow(HandshakeError);
    expect(() => decide(BASE, { extraHeaders: [['Bad Name', 'a']] })).toThrow(HandshakeError);
  });

  it('throws a HandshakeError for extraHeaders that would contradict the handshake', () => {
    expect(() => decide(BASE, { extraHeaders: [['Sec-WebSocket-Accept', 'x']] })).toThrow(HandshakeError);
  });

  it('throws a HandshakeError for a protocol option that is not a token', () => {
    expect(() => decide(BASE, { protocols: ['a b'] })).toThrow(HandshakeError);
  });

  it('throws a HandshakeError for a deflate window outside 9..15', () => {
    expect(() => decide(BASE, { perMessageDeflate: { serverMaxWindowBits: 8 } })).toThrow(HandshakeError);
    expect(() => decide(BASE, { perMessageDeflate: { clientMaxWindowBits: 16 } })).toThrow(HandshakeError);
  });
});

describe('validateUpgradeRequest: robustness', () => {
  const interesting = fc.constantFrom(
    'Host',
    'host',
    'Upgrade',
    'Connection',
    'Sec-WebSocket-Key',
    'sec-websocket-version',
    'Sec-WebSocket-Protocol',
    'Sec-WebSocket-Extensions',
    'Origin',
    '',
    'X',
    '__proto__',
    'constructor',
  );
  const value = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('', 'websocket', 'Upgrade', '13', KEY, 'permessage-deflate; client_max_window_bits', ',,,', ';', '=', '"', 'a, b'),
  );
  const headerList = fc.array(fc.tuple(fc.oneof(interesting, fc.string({ maxLength: 10 })), value), { maxLength: 150 });

  it('never throws, whatever the header list, and always returns a well-formed decision (property)', () => {
    fc.assert(
      fc.property(
        headerList,
        fc.constantFrom('GET', 'POST', '', 'get'),
        fc.constantFrom('1.1' as const, '1.0' as const),
        fc.constantFrom<UpgradeServerOptions>({}, { perMessageDeflate: {}, protocols: ['a', 'b'], origins: ['x'] }, { protocols: (o) => o[0] }),
        (headers, method, version, options) => {
          const decision = validateUpgradeRequest({ method, version, headers }, options);
          const { head } = { head: new HttpHeadParser('response').push(decision.response) };
          expect(head.status).toBe('complete');
          if (decision.ok) expect(text(decision.response).startsWith('HTTP/1.1 101 Switching Protocols\r\n')).toBe(true);
          else expect([400, 403, 405, 426, 431]).toContain(decision.status);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('answers 400, not a crash, when the handshake headers were cut off by a header-count limit (CVE-2024-37890)', () => {
    // ws crashed when node's maxHeadersCount dropped Sec-WebSocket-Key from a request padded
    // with many headers: the handshake read a header that was not there.
    const filler: HeaderList = Array.from({ length: 2000 }, (_, i) => [`X-${i}`, ''] as const);
    const truncated = [...filler.slice(0, 1997), ...BASE.slice(0, 3)];
    const rejected = expectRejected(decide(truncated, { maxHeaders: 2000 }), 400);
    expect(rejected.reason).toMatch(/Sec-WebSocket-Version/);
    expectRejected(decide([...filler, ...BASE]), 431);
  });

  it('never throws for header lists that are not even pairs of strings', () => {
    const odd = [[['Host']], [[1, 2]], [null], ['Host: a'], [[undefined, 'x']]] as unknown as HeaderList[];
    for (const headers of odd) expectRejected(decide(headers), 400);
  });

  it('accepts a valid request whatever extra, empty or repeated unrelated headers surround it (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.stringMatching(/^X-[a-z]{0,5}$/), fc.string({ maxLength: 20 })), { maxLength: 100 }), fc.nat(), (extra, at) => {
        const headers = [...BASE];
        headers.splice(at % (headers.length + 1), 0, ...extra);
        expectAccepted(decide(headers));
      }),
      { numRuns: 300 },
    );
  });
});
