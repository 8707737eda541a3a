import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Connection, type CloseEvent } from '@switchyard/codec';
import { clientFrame, closeCodeOf, concat, parseFrames, splitAt } from './support/wire.js';

/**
 * Rule (b) of docs/protocol.md: the UTF-8 of an uncompressed text message is checked as each
 * chunk of a frame arrives, so a payload that becomes invalid at byte k fails right after the
 * chunk that carries byte k, never later, however the frame is split.
 */

/** A byte that cannot follow `lead` (empty: cannot start a sequence), the first invalid byte. */
const breakArb = fc.constantFrom(
  { lead: [], bad: 0xff },
  { lead: [], bad: 0xf5 },
  { lead: [], bad: 0xc0 },
  { lead: [], bad: 0x80 },
  { lead: [0xc3], bad: 0x41 },
  { lead: [0xe0], bad: 0x9f }, // an overlong three-byte form
  { lead: [0xed], bad: 0xa0 }, // a UTF-16 surrogate
  { lead: [0xf0], bad: 0x8f }, // an overlong four-byte form
  { lead: [0xf4], bad: 0x90 }, // above U+10FFFF
  { lead: [0xf0, 0x9f], bad: 0x41 },
);

/** The frames of a text message cut into fragments at `cuts`, and where each payload byte lies in the stream. */
function textMessage(payload: Uint8Array, fragmentCuts: readonly number[]): { bytes: Uint8Array; offsetOf: (k: number) => number } {
  const pieces = splitAt(payload, fragmentCuts);
  if (pieces.length === 0) pieces.push(payload);
  const frames: Uint8Array[] = [];
  const starts: Array<{ from: number; at: number }> = [];
  let at = 0;
  let from = 0;
  pieces.forEach((piece, i) => {
    const frame = clientFrame({ opcode: i === 0 ? 1 : 0, fin: i === pieces.length - 1, payload: piece });
    starts.push({ from, at: at + frame.length - piece.length });
    frames.push(frame);
    at += frame.length;
    from += piece.length;
  });
  const offsetOf = (k: number): number => {
    const start = [...starts].reverse().find((s) => s.from <= k)!;
    return start.at + (k - start.from);
  };
  return { bytes: concat(frames), offsetOf };
}

describe('invalid UTF-8 fails right after the chunk that carries it', () => {
  it('for any valid prefix, any kind of break, any fragmentation and any split into reads', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        breakArb,
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (prefix, { lead, bad }, tail, fragmentCuts, cuts) => {
          const valid = new TextEncoder().encode(prefix);
          const payload = concat([valid, Uint8Array.from(lead), Uint8Array.of(bad), tail]);
          const k = valid.length + lead.length;
          const { bytes, offsetOf } = textMessage(payload, fragmentCuts);
          const badAt = offsetOf(k);
          const connection = new Connection({ role: 'server' });
          let read = 0;
          for (const chunk of splitAt(bytes, cuts)) {
            connection.receive(chunk.slice());
            read += chunk.length;
            const events = connection.takeEvents();
            if (read <= badAt) {
              // Byte k has not arrived: nothing may fail yet, and no text was delivered.
              expect(events).toEqual([]);
              expect(connection.state).toBe('open');
              continue;
            }
            expect(events).toHaveLength(1);
            const close = events[0] as CloseEvent;
            expect(close).toMatchObject({ type: 'close', code: 1007, initiator: 'failure', error: { kind: 'invalid-utf8' } });
            const sent = parseFrames(concat(connection.takeOutput()));
            expect(sent.map((f) => f.opcode)).toEqual([8]);
            expect(closeCodeOf(sent[0]!.payload)).toBe(1007);
            return;
          }
          throw new Error('the stream ended without a failure');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('Autobahn 6.4.3: a 21-byte text frame in three reads fails after the second', () => {
    // κόσμε, F4 90 80 80 (above U+10FFFF), then "edited": the invalid bytes come in the middle read.
    const payload = Uint8Array.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xf4, 0x90, 0x80, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64]);
    const frame = clientFrame({ opcode: 1, payload });
    const header = frame.length - payload.length;
    const connection = new Connection({ role: 'server' });
    connection.receive(frame.slice(0, header + 11));
    expect(connection.takeEvents()).toEqual([]);
    connection.receive(frame.slice(header + 11, header + 15));
    expect(connection.takeEvents()).toMatchObject([{ type: 'close', code: 1007 }]);
  });

  it('a valid text frame split anywhere is delivered whole, once', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.array(fc.nat(), { maxLength: 3 }), fc.array(fc.nat(), { maxLength: 10 }), (text, fragmentCuts, cuts) => {
        const { bytes } = textMessage(new TextEncoder().encode(text), fragmentCuts);
        const connection = new Connection({ role: 'server' });
        const events = splitAt(bytes, cuts).flatMap((chunk) => {
          connection.receive(chunk.slice());
          return connection.takeEvents();
        });
        expect(events).toEqual([{ type: 'text', data: text }]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the 1009 close reason', () => {
  it("names the message's size so far, not the size of the fragment that passed the limit", () => {
    const connection = new Connection({ role: 'server', maxMessageSize: 4096 });
    const fragment = new Uint8Array(64);
    const frames = [clientFrame({ opcode: 2, fin: false, payload: fragment })];
    for (let i = 1; i < 70; i++) frames.push(clientFrame({ opcode: 0, fin: false, payload: fragment }));
    connection.receive(concat(frames));
    const close = connection.takeEvents().find((e): e is CloseEvent => e.type === 'close');
    expect(close).toMatchObject({ code: 1009, reason: 'message of at least 4160 bytes exceeds the limit' });
  });

  it('names the frame for a message of one frame', () => {
    const connection = new Connection({ role: 'server', maxMessageSize: 100 });
    connection.receive(clientFrame({ opcode: 2, payload: new Uint8Array(200) }));
    expect(connection.takeEvents()).toMatchObject([{ code: 1009, reason: 'message of at least 200 bytes exceeds the limit' }]);
  });
});
