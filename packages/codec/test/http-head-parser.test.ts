import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HandshakeError, HttpHeadParser, type HttpHeadResult } from '../src/index.js';

const bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.replace(/\s+/g, '').match(/../g) ?? [], (b) => parseInt(b, 16));

/** Splits `data` at the given cut points (sorted, deduplicated, inside the data). */
function split(data: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let previous = 0;
  for (const point of [...points, data.length]) {
    chunks.push(data.subarray(previous, point));
    previous = point;
  }
  return chunks;
}

/** Feeds chunks until the parser finishes; the bytes after the head are `rest` plus unfed chunks. */
function feed(kind: 'request' | 'response', chunks: readonly Uint8Array[], limits?: ConstructorParameters<typeof HttpHeadParser>[1]) {
  const parser = new HttpHeadParser(kind, limits);
  let result: HttpHeadResult = { status: 'incomplete' };
  let index = 0;
  for (; index < chunks.length; index++) {
    result = parser.push(chunks[index]!);
    if (result.status !== 'incomplete') break;
  }
  if (result.status !== 'complete') return { result, after: new Uint8Array(0) };
  const tail = [result.rest, ...chunks.slice(index + 1)];
  const after = new Uint8Array(tail.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of tail) {
    after.set(chunk, offset);
    offset += chunk.length;
  }
  return { result, after };
}

const REQUEST =
  'GET /chat?room=1 HTTP/1.1\r\n' +
  'Host: server.example.com\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
  'Sec-WebSocket-Version: 13\r\n' +
  '\r\n';

describe('HttpHeadParser: requests', () => {
  it('parses the RFC 6455 §1.2 request into method, target, version and raw headers', () => {
    const { result } = feed('request', [bytes(REQUEST)]);
    expect(result).toEqual({
      status: 'complete',
      head: {
        kind: 'request',
        method: 'GET',
        target: '/chat?room=1',
        version: '1.1',
        headers: [
          ['Host', 'server.example.com'],
          ['Upgrade', 'websocket'],
          ['Connection', 'Upgrade'],
          ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
          ['Sec-WebSocket-Version', '13'],
        ],
      },
      rest: new Uint8Array(0),
    });
  });

  it('returns the bytes after the blank line as rest (a masked frame sent with the head)', () => {
    const frame = fromHex('81 85 37 fa 21 3d 7f 9f 4d 51 58'); // RFC 6455 §5.7 masked "Hello"
    const data = new Uint8Array([...bytes(REQUEST), ...frame]);
    const { result } = feed('request', [data]);
    expect(result.status).toBe('complete');
    if (result.status === 'complete') expect(result.rest).toEqual(frame);
  });

  it('reports incomplete until the final CRLF has arrived', () => {
    const parser = new HttpHeadParser('request');
    expect(parser.push(bytes(REQUEST.slice(0, -1)))).toEqual({ status: 'incomplete' });
    expect(parser.push(bytes('\n')).status).toBe('complete');
  });

  it('keeps duplicate headers, in order, with names as sent', () => {
    const { result } = feed('request', [bytes('GET / HTTP/1.1\r\nhost: a\r\nX-A: 1\r\nx-a: 2\r\nHOST: b\r\n\r\n')]);
    expect(result.status === 'complete' && result.head.headers).toEqual([
      ['host', 'a'],
      ['X-A', '1'],
      ['x-a', '2'],
      ['HOST', 'b'],
    ]);
  });

  it('trims optional whitespace around header values but keeps inner whitespace', () => {
    const { result } = feed('request', [bytes('GET / HTTP/1.1\r\nX-Value: \t a  b \t\r\nX-Empty:\r\n\r\n')]);
    expect(result.status === 'complete' && result.head.headers).toEqual([
      ['X-Value', 'a  b'],
      ['X-Empty', ''],
    ]);
  });

  it('keeps obs-text (bytes 0x80–0xFF) in values as ISO-8859-1 characters', () => {
    const data = new Uint8Array([...bytes('GET / HTTP/1.1\r\nX-Name: caf'), 0xe9, ...bytes('\r\n\r\n')]);
    const { result } = feed('request', [data]);
    expect(result.status === 'complete' && result.head.headers).toEqual([['X-Name', 'café']]);
  });

  it('accepts HTTP/1.0 requests (the handshake validation refuses them, not the parser)', () => {
    const { result } = feed('request', [bytes('GET / HTTP/1.0\r\n\r\n')]);
    expect(result.status === 'complete' && result.head.version).toBe('1.0');
  });

  it('skips empty lines before the request line (RFC 9112 §2.2)', () => {
    const { result } = feed('request', [bytes('\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n')]);
    expect(result.status === 'complete' && result.head.kind === 'request' && result.head.target).toBe('/');
  });

  it('accepts an absolute-form target', () => {
    const { result } = feed('request', [bytes('GET http://example.com/chat HTTP/1.1\r\nHost: example.com\r\n\r\n')]);
    expect(result.status === 'complete' && result.head.kind === 'request' && result.head.target).toBe('http://example.com/chat');
  });
});

describe('HttpHeadParser: malformed requests', () => {
  const rejects = (name: string, head: string, httpStatus: number, limits?: ConstructorParameters<typeof HttpHeadParser>[1]) =>
    it(name, () => {
      const { result } = feed('request', [bytes(head)], limits);
      expect(result.status).toBe('error');
      if (result.status === 'error') expect(result.httpStatus).toBe(httpStatus);
    });

  rejects('rejects a line ending in a bare LF with 400', 'GET / HTTP/1.1\nHost: a\r\n\r\n', 400);
  rejects('rejects a header line ending in a bare LF with 400', 'GET / HTTP/1.1\r\nHost: a\n\r\n', 400);
  rejects('rejects a bare CR inside a line with 400', 'GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n', 400);
  rejects('rejects obs-fold (a continuation line) with 400', 'GET / HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n', 400);
  rejects('rejects a header line starting with a tab with 400', 'GET / HTTP/1.1\r\n\tX-A: 1\r\n\r\n', 400);
  rejects('rejects whitespace between a header name and its colon with 400', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 400);
  rejects('rejects a header name that is not a token with 400', 'GET / HTTP/1.1\r\nX(A): 1\r\n\r\n', 400);
  rejects('rejects a header line without a colon with 400', 'GET / HTTP/1.1\r\nHost\r\n\r\n', 400);
  rejects('rejects a header line with an empty name with 400', 'GET / HTTP/1.1\r\n: a\r\n\r\n', 400);
  rejects('rejects a NUL in a header value with 400', 'GET / HTTP/1.1\r\nX-A: a\u0000b\r\n\r\n', 400);
  rejects('rejects DEL in a header value with 400', 'GET / HTTP/1.1\r\nX-A: a\u007fb\r\n\r\n', 400);
  rejects('rejects a request line with two spaces in a row with 400', 'GET  / HTTP/1.1\r\n\r\n', 400);
  rejects('rejects a request line without a version with 400', 'GET /\r\n\r\n', 400);
  rejects('rejects a method that is not a token with 400', 'G(T / HTTP/1.1\r\n\r\n', 400);
  rejects('rejects a target holding a control character with 400', 'GET /\u0001 HTTP/1.1\r\n\r\n', 400);
  rejects('rejects a malformed version with 400', 'GET / HTTP/1.1.1\r\n\r\n', 400);
  rejects('rejects a lower-case protocol name with 400', 'GET / http/1.1\r\n\r\n', 400);
  rejects('rejects HTTP/2.0 with 505', 'GET / HTTP/2.0\r\n\r\n', 505);
  rejects('rejects HTTP/0.9 with 505', 'GET / HTTP/0.9\r\n\r\n', 505);
  rejects('rejects a request line over 16 KiB with 414', `GET /${'a'.repeat(16 * 1024)} HTTP/1.1\r\n\r\n`, 414);
  rejects('rejects a header line over 16 KiB with 431', `GET / HTTP/1.1\r\nX-A: ${'a'.repeat(16 * 1024)}\r\n\r\n`, 431);
  rejects(
    'rejects a head over 16 KiB with 431',
    `GET / HTTP/1.1\r\n${Array.from({ length: 5 }, (_, i) => `X-${i}: ${'a'.repeat(4000)}\r\n`).join('')}\r\n`,
    431,
  );
  rejects(
    'rejects a 129th header line with 431',
    `GET / HTTP/1.1\r\n${Array.from({ length: 129 }, (_, i) => `X-${i}: ${i}\r\n`).join('')}\r\n`,
    431,
  );
  rejects('applies a configured header count', 'GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n', 431, { maxHeaders: 2 });
  rejects('applies a configured line length', 'GET / HTTP/1.1\r\nA: 1234567890123456\r\n\r\n', 431, { maxLineBytes: 16 });

  it('accepts exactly 128 headers and a line of exactly 8 KiB', () => {
    const headers = Array.from({ length: 127 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
    const longLine = `X-Long: ${'a'.repeat(8 * 1024 - 'X-Long: '.length)}\r\n`;
    const { result } = feed('request', [bytes(`GET / HTTP/1.1\r\n${headers}${longLine}\r\n`)]);
    expect(result.status === 'complete' && result.head.headers.length).toBe(128);
  });

  it('refuses an over-long line as soon as the limit is passed, before its end arrives', () => {
    const parser = new HttpHeadParser('request');
    expect(parser.push(bytes('GET / HTTP/1.1\r\nX-A: ')).status).toBe('incomplete');
    const result = parser.push(new Uint8Array(17_000).fill(0x61));
    expect(result).toMatchObject({ status: 'error', httpStatus: 431 });
  });

  it('stops at the head limit whatever arrives later, without buffering it', () => {
    const parser = new HttpHeadParser('request');
    parser.push(bytes('GET / HTTP/1.1\r\n'));
    let result: HttpHeadResult = { status: 'incomplete' };
    for (let i = 0; i < 100 && result.status === 'incomplete'; i++) result = parser.push(bytes(`X-${i}: ${'a'.repeat(1000)}\r\n`));
    expect(result).toMatchObject({ status: 'error', httpStatus: 431 });
    expect(parser.push(bytes('X-More: 1\r\n\r\n'))).toBe(result);
  });

  it('throws a HandshakeError when pushed to after the head is complete', () => {
    const parser = new HttpHeadParser('request');
    parser.push(bytes(REQUEST));
    expect(() => parser.push(bytes('more'))).toThrow(HandshakeError);
  });

  it('throws a HandshakeError for a limit that is not a positive integer', () => {
    expect(() => new HttpHeadParser('request', { maxHeaders: 0 })).toThrow(HandshakeError);
    expect(() => new HttpHeadParser('request', { maxHeadBytes: Number.NaN })).toThrow(HandshakeError);
  });
});

describe('HttpHeadParser: responses', () => {
  const RESPONSE =
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
    '\r\n';

  it('parses the RFC 6455 §1.2 response', () => {
    const { result } = feed('response', [bytes(RESPONSE)]);
    expect(result).toEqual({
      status: 'complete',
      head: {
        kind: 'response',
        version: '1.1',
        status: 101,
        statusText: 'Switching Protocols',
        headers: [
          ['Upgrade', 'websocket'],
          ['Connection', 'Upgrade'],
          ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
        ],
      },
      rest: new Uint8Array(0),
    });
  });

  it('accepts an empty reason phrase, with or without the space before it', () => {
    for (const line of ['HTTP/1.1 101 \r\n\r\n', 'HTTP/1.1 101\r\n\r\n']) {
      const { result } = feed('response', [bytes(line)]);
      expect(result.status === 'complete' && result.head.kind === 'response' && result.head.status).toBe(101);
    }
  });

  it('rejects a status code that is not three digits with 400', () => {
    for (const line of ['HTTP/1.1 1010 X\r\n\r\n', 'HTTP/1.1 10 X\r\n\r\n', 'HTTP/1.1 abc X\r\n\r\n']) {
      expect(feed('response', [bytes(line)]).result).toMatchObject({ status: 'error', httpStatus: 400 });
    }
  });

  it('rejects a status line over the line limit with 400', () => {
    expect(feed('response', [bytes(`HTTP/1.1 200 ${'a'.repeat(17_000)}\r\n\r\n`)]).result).toMatchObject({ status: 'error', httpStatus: 400 });
  });
});

describe('HttpHeadParser: chunking', () => {
  const samples = [
    REQUEST + 'trailing frame bytes',
    'GET / HTTP/1.1\r\nX-A:  spaced value \r\nX-B: 2\r\n\r\n',
    '\r\nGET / HTTP/1.1\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: a\n\r\n',
    'GET / HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n',
    'GET / HTTP/2.0\r\n\r\n',
    `GET / HTTP/1.1\r\nX-A: ${'a'.repeat(9000)}\r\n\r\n`,
    `GET / HTTP/1.1\r\n${'X: 1\r\n'.repeat(200)}\r\n`,
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello',
  ];

  it('gives the same result one byte at a time as in one chunk', () => {
    for (const sample of samples) {
      const kind = sample.startsWith('HTTP') ? 'response' : 'request';
      const data = bytes(sample);
      const whole = feed(kind, [data]);
      const byByte = feed(kind, Array.from(data, (_, i) => data.subarray(i, i + 1)));
      expect(byByte.result.status, sample.slice(0, 40)).toBe(whole.result.status);
      if (whole.result.status === 'complete' && byByte.result.status === 'complete') {
        expect(byByte.result.head).toEqual(whole.result.head);
        expect(byByte.after).toEqual(whole.after);
      }
      if (whole.result.status === 'error') expect(byByte.result).toMatchObject({ httpStatus: whole.result.httpStatus });
    }
  });

  it('gives the same result under any chunking, for valid and invalid heads (property)', () => {
    const headerLine = fc
      .tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/), fc.stringMatching(/^[ -~]{0,30}$/))
      .map(([name, value]) => `${name}: ${value}\r\n`);
    const head = fc
      .tuple(
        fc.constantFrom('GET / HTTP/1.1\r\n', 'GET /x?y HTTP/1.0\r\n', 'HTTP/1.1 101 OK\r\n', 'GET / HTTP/3.0\r\n', 'GET /\r\n'),
        fc.array(fc.oneof(headerLine, fc.constantFrom(' fold\r\n', 'Bad Name: 1\r\n', 'X: \n', 'X: a\rb\r\n')), { maxLength: 8 }),
        fc.string({ maxLength: 20 }),
      )
      .map(([start, lines, tail]) => bytes(`${start}${lines.join('')}\r\n${tail}`.replace(/[^\x00-\xff]/g, '?')));
    fc.assert(
      fc.property(head, fc.array(fc.nat(), { maxLength: 12 }), (data, cuts) => {
        const kind = data[0] === 0x48 /* H */ ? 'response' : 'request';
        const whole = feed(kind, [data], { maxHeaders: 6, maxLineBytes: 40 });
        const chunked = feed(kind, split(data, cuts), { maxHeaders: 6, maxLineBytes: 40 });
        expect(chunked.result.status).toBe(whole.result.status);
        if (whole.result.status === 'complete' && chunked.result.status === 'complete') {
          expect(chunked.result.head).toEqual(whole.result.head);
          expect(chunked.after).toEqual(whole.after);
        }
        if (whole.result.status === 'error' && chunked.result.status === 'error') {
          expect(chunked.result.httpStatus).toBe(whole.result.httpStatus);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws and ends in complete, incomplete or a 4xx/505 error on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), fc.constantFrom('request' as const, 'response' as const), (chunks, kind) => {
        const { result } = feed(kind, chunks);
        if (result.status === 'error') expect([400, 414, 431, 505]).toContain(result.httpStatus);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('HttpHeadParser: garbage before any line end', () => {
  it('refuses a WebSocket frame sent instead of a request at its first byte, without waiting for CRLF', () => {
    const frame = fromHex('81 82 37 fa 21 3d 5f 93');
    expect(new HttpHeadParser('request').push(frame)).toMatchObject({ status: 'error', httpStatus: 400 });
  });

  it('refuses a TLS ClientHello on a plain port at once', () => {
    const hello = fromHex('16 03 01 00 c8 01 00 00 c4 03 03');
    expect(new HttpHeadParser('request').push(hello)).toMatchObject({ status: 'error', httpStatus: 400 });
  });

  it('refuses a request line that starts with a space', () => {
    expect(new HttpHeadParser('request').push(bytes(' GET'))).toMatchObject({ status: 'error', httpStatus: 400 });
  });

  it('refuses a response that does not start with HTTP/ before its line ends', () => {
    expect(new HttpHeadParser('response').push(bytes('HTTX'))).toMatchObject({ status: 'error', httpStatus: 400 });
  });

  it('still waits on a valid prefix split byte by byte, and on empty lines before the request line', () => {
    const parser = new HttpHeadParser('request');
    for (const piece of ['\r', '\n', 'G', 'E', 'T', ' ', '/']) expect(parser.push(bytes(piece))).toEqual({ status: 'incomplete' });
  });

  it('never refuses early a prefix of a valid request or response, at any split (property)', () => {
    const method = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
    const request = method.map((m) => `${m} /chat HTTP/1.1\r\nHost: a\r\n\r\n`);
    const response = fc.constant('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
    fc.assert(
      fc.property(fc.oneof(request, response), fc.array(fc.nat(), { maxLength: 8 }), (text, cuts) => {
        const kind = text.startsWith('HTTP/') ? 'response' : 'request';
        const { result } = feed(kind, split(bytes(text), cuts));
        expect(result.status).toBe('complete');
      }),
    );
  });
});
