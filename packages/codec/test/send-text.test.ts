import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Connection, frameHeaderLength, type Compressor, type ConnectionEvent, type Role } from '@switchyard/codec';
import { concat, parseFrames } from './support/wire.js';
import { noContextTakeover } from './support/compression.js';

const utf8 = new TextEncoder();
/** What any receiver makes of a string that was sent: lone surrogates have become U+FFFD. */
const afterUtf8 = (text: string): string => new TextDecoder().decode(utf8.encode(text));

/**
 * UTF-16 units of every kind: ASCII, 2- and 3-byte BMP characters, astral characters (a
 * surrogate pair: 4 bytes for 2 units) and lone surrogates, which UTF-8 cannot carry.
 */
const unitArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0x7ff }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.integer({ min: 0x800, max: 0xd7ff }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
);
/** Lengths around every boundary of the direct path: 125/126 bytes (header form) and 1024 (slab). */
const textArb = fc.oneof(
  fc.string({ unit: unitArb, maxLength: 50 }),
  fc.string({ unit: unitArb, minLength: 30, maxLength: 140 }),
  fc.string({ unit: unitArb, minLength: 300, maxLength: 1100 }),
  fc.string({ unit: 'binary', maxLength: 400 }),
);

function pair(): Record<Role, Connection> {
  return { client: new Connection({ role: 'client' }), server: new Connection({ role: 'server' }) };
}

/** The output as bytes and frames, checking on the way that every length uses its minimal form. */
function takeWire(connection: Connection): { bytes: Uint8Array; frames: ReturnType<typeof parseFrames> } {
  const buffered = connection.bufferedOutput;
  const bytes = concat(connection.takeOutput());
  expect(bytes.length).toBe(buffered);
  const frames = parseFrames(bytes);
  const minimal = frames.reduce((sum, f) => sum + frameHeaderLength(f.payload.length, f.masked) + f.payload.length, 0);
  expect(bytes.length).toBe(minimal);
  return { bytes, frames };
}

const takeFrames = (connection: Connection): ReturnType<typeof parseFrames> => takeWire(connection).frames;

describe('sendText', () => {
  it('(t1) any strings, from either role, arrive as the receiver decodes their UTF-8, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ from: fc.constantFrom<Role>('client', 'server'), text: textArb }), { maxLength: 8 }), fc.boolean(), (sends, takeEach) => {
        const peers = pair();
        const received: Record<Role, ConnectionEvent[]> = { client: [], server: [] };
        const deliver = (from: Role): void => {
          const to: Role = from === 'client' ? 'server' : 'client';
          const { bytes, frames } = takeWire(peers[from]);
          for (const f of frames) expect(f.masked).toBe(from === 'client');
          peers[to].receive(bytes);
          received[to].push(...peers[to].takeEvents());
        };
        for (const { from, text } of sends) {
          peers[from].sendText(text);
          if (takeEach) deliver(from);
        }
        deliver('client');
        deliver('server');
        for (const to of ['client', 'server'] as const) {
          const expected = sends.filter((s) => s.from !== to).map((s) => ({ type: 'text', data: afterUtf8(s.text) }));
          expect(received[to]).toEqual(expected);
        }
      }),
      { numRuns: 400 },
    );
  }, 30_000);

  it('(t2) the bytes on the wire are exactly TextEncoder.encode(text), one unfragmented frame', () => {
    fc.assert(
      fc.property(fc.constantFrom<Role>('client', 'server'), fc.array(textArb, { minLength: 1, maxLength: 6 }), (role, texts) => {
        // Two connections writing in turn share the output slab: their frames must not mix.
        const a = new Connection({ role });
        const b = new Connection({ role });
        for (const text of texts) {
          a.sendText(text);
          b.sendText(text.split('').reverse().join(''));
        }
        const framesA = takeFrames(a);
        const framesB = takeFrames(b);
        expect(framesA.map((f) => [f.fin, f.rsv, f.opcode])).toEqual(texts.map(() => [true, 0, 1]));
        expect(framesA.map((f) => f.payload)).toEqual(texts.map((t) => utf8.encode(t)));
        expect(framesB.map((f) => f.payload)).toEqual(texts.map((t) => utf8.encode(t.split('').reverse().join(''))));
      }),
      { numRuns: 400 },
    );
  }, 30_000);

  it('(t3) many small texts, across several full slabs, stay whole and in order', () => {
    const peers = pair();
    const texts = Array.from({ length: 600 }, (_, i) => `${'é'.repeat(i % 300)}${i}\u{1F600}`);
    for (const role of ['client', 'server'] as const) {
      const other = role === 'client' ? 'server' : 'client';
      for (const text of texts) peers[role].sendText(text);
      peers[other].receive(concat(peers[role].takeOutput()));
      expect(peers[other].takeEvents()).toEqual(texts.map((data) => ({ type: 'text', data })));
    }
  });

  it('(t4) with permessage-deflate, a text is compressed exactly when its UTF-8 reaches the threshold or compress says so', () => {
    fc.assert(
      fc.property(textArb, fc.integer({ min: 0, max: 1500 }), fc.constantFrom(undefined, true, false), (text, threshold, compress) => {
        const compressed: Uint8Array[] = [];
        const compressor: Compressor = {
          compress(data) {
            compressed.push(data.slice());
            return new Uint8Array([0x01]);
          },
          decompress: () => null,
          dispose() {},
        };
        const connection = new Connection({ role: 'server', perMessageDeflate: { params: noContextTakeover, compressor, threshold } });
        connection.sendText(text, compress === undefined ? undefined : { compress });
        const bytes = utf8.encode(text);
        const shouldCompress = compress ?? bytes.length >= threshold;
        const [frame, ...rest] = takeFrames(connection);
        expect(rest).toEqual([]);
        expect(frame!.rsv).toBe(shouldCompress ? 4 : 0);
        expect(compressed).toEqual(shouldCompress ? [bytes] : []);
        expect(frame!.payload).toEqual(shouldCompress ? new Uint8Array([0x01]) : bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('(t5) fragmentSize still splits a short text', () => {
    const connection = new Connection({ role: 'server' });
    connection.sendText('héllo wörld', { fragmentSize: 4 });
    const frames = takeFrames(connection);
    expect(frames.map((f) => [f.fin, f.opcode])).toEqual([
      [false, 1],
      [false, 0],
      [false, 0],
      [true, 0],
    ]);
    expect(concat(frames.map((f) => f.payload))).toEqual(utf8.encode('héllo wörld'));
    expect(() => connection.sendText('x', { fragmentSize: -1 })).toThrow();
  });
});
