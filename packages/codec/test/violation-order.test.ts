import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Connection, type ConnectionEvent } from '@switchyard/codec';
import { deflateMessage, noContextTakeover, streamCompressor } from './support/compression.js';
import { clientFrame, closeCodeOf, concat, parseFrames, type ParsedFrame, splitAt } from './support/wire.js';

/**
 * Rule (a) of docs/protocol.md: the events that precede a protocol violation are delivered, and
 * what the application sends in reply to them leaves before the close frame, however the bytes
 * are split into reads.
 */

type Message = { readonly binary: boolean; readonly payload: Uint8Array; readonly fragments: number };

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ binary: fc.constant(false), payload: fc.string({ maxLength: 40 }).map((s) => new TextEncoder().encode(s)), fragments: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ binary: fc.constant(true), payload: fc.uint8Array({ maxLength: 300 }), fragments: fc.integer({ min: 1, max: 3 }) }),
);

/** The three violations of Autobahn cases 3.x, 4.x and 5.15: reserved bits, a reserved opcode, an orphan continuation. */
const violationArb = fc.oneof(
  fc.integer({ min: 1, max: 7 }).map((rsv) => ({ name: 'reserved-bits', bytes: clientFrame({ opcode: 1, rsv, payload: 'x' }) })),
  fc.constantFrom(3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf).map((opcode) => ({ name: 'reserved-opcode', bytes: clientFrame({ opcode, payload: 'x' }) })),
  fc.boolean().map((fin) => ({ name: 'unexpected-continuation', bytes: clientFrame({ opcode: 0, fin, payload: 'x' }) })),
);

function messageFrames(message: Message, pingAfterFirst: boolean): Uint8Array[] {
  const { payload, fragments } = message;
  const size = Math.ceil(payload.length / fragments) || 1;
  const frames: Uint8Array[] = [];
  for (let i = 0, at = 0; i < fragments; i++, at += size) {
    const last = i === fragments - 1;
    const slice = payload.subarray(Math.min(at, payload.length), last ? payload.length : Math.min(at + size, payload.length));
    frames.push(clientFrame({ opcode: i === 0 ? (message.binary ? 2 : 1) : 0, fin: last, payload: slice }));
    // A control frame may come between fragments; its pong is an automatic reply.
    if (i === 0 && pingAfterFirst) frames.push(clientFrame({ opcode: 9, payload: 'p' }));
  }
  return frames;
}

/**
 * A server that echoes every message, driven as an adapter must drive it: take the events,
 * handle them, take them again while a failure is pending, then write the output.
 */
function echoServer(chunks: readonly Uint8Array[]): { events: ConnectionEvent[]; output: ParsedFrame[] } {
  const connection = new Connection({ role: 'server' });
  const events: ConnectionEvent[] = [];
  const output: Uint8Array[] = [];
  for (const chunk of chunks) {
    // `receive` takes ownership (unmasks in place): give it a copy so the stream can be reused.
    connection.receive(chunk.slice());
    do {
      for (const event of connection.takeEvents()) {
        events.push(event);
        if (event.type === 'text') connection.sendText(event.data);
        else if (event.type === 'binary') connection.sendBinary(event.data.slice());
      }
    } while (connection.failurePending);
    output.push(...connection.takeOutput());
  }
  return { events, output: parseFrames(concat(output)) };
}

function expectEchoThenClose(messages: readonly Message[], result: ReturnType<typeof echoServer>, pings: number): void {
  const { events, output } = result;
  const data = events.filter((e) => e.type === 'text' || e.type === 'binary');
  expect(data).toHaveLength(messages.length);
  data.forEach((event, i) => {
    const bytes = event.type === 'text' ? new TextEncoder().encode(event.data) : (event as { data: Uint8Array }).data;
    expect(bytes).toEqual(messages[i]!.payload);
  });
  expect(events.filter((e) => e.type === 'ping')).toHaveLength(pings);
  expect(events.at(-1)).toMatchObject({ type: 'close', code: 1002, initiator: 'failure' });
  expect(events.filter((e) => e.type === 'close')).toHaveLength(1);

  // Every echo and every pong, in order, then the close frame, and nothing after it.
  const close = output.at(-1)!;
  expect(close.opcode).toBe(8);
  expect(closeCodeOf(close.payload)).toBe(1002);
  const before = output.slice(0, -1);
  expect(before.filter((f) => f.opcode === 8)).toEqual([]);
  expect(before.filter((f) => f.opcode === 10)).toHaveLength(pings);
  const echoes = before.filter((f) => f.opcode === 1 || f.opcode === 2);
  expect(echoes.map((f) => f.payload)).toEqual(messages.map((m) => m.payload));
  expect(echoes.map((f) => f.opcode === 2)).toEqual(messages.map((m) => m.binary));
}

describe('events before a violation are answered before the close frame', () => {
  it('for any valid messages, any of the three violations, and any split of the stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(messageArb, fc.boolean()), { minLength: 1, maxLength: 6 }),
        violationArb,
        fc.array(fc.nat(), { maxLength: 12 }),
        (items, violation, cuts) => {
          const messages = items.map(([m]) => m);
          const pings = items.filter(([m, ping]) => ping).length;
          // What follows the bad frame (a ping and a message, as in Autobahn 3.2) must have no effect.
          const after = [clientFrame({ opcode: 9, payload: 'late' }), clientFrame({ opcode: 1, payload: 'late' })];
          const stream = concat([...items.flatMap(([m, ping]) => messageFrames(m, ping)), violation.bytes, ...after]);
          const result = echoServer(splitAt(stream, cuts));
          expectEchoThenClose(messages, result, pings);
          expect(result.events.at(-1)).toMatchObject({ error: { kind: violation.name } });
        },
      ),
      { numRuns: 400 },
    );
  });

  it('Autobahn 3.2 split at every one and every two points', () => {
    // A text message, a text frame with RSV2, a ping: the echo, then the close.
    const message: Message = { binary: false, payload: new TextEncoder().encode('Hello, world!'), fragments: 1 };
    const stream = concat([...messageFrames(message, false), clientFrame({ opcode: 1, rsv: 2, payload: 'Hello, world!' }), clientFrame({ opcode: 9 })]);
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j++) expectEchoThenClose([message], echoServer(splitAt(stream, [i, j])), 0);
    }
  });

  it('a violation with no undelivered event before it fails at once', () => {
    const connection = new Connection({ role: 'server' });
    connection.receive(clientFrame({ opcode: 1, payload: 'a' }));
    expect(connection.takeEvents()).toEqual([{ type: 'text', data: 'a' }]);
    connection.receive(clientFrame({ opcode: 3 }));
    expect(connection.failurePending).toBe(false);
    expect(connection.state).toBe('closed');
    expect(connection.takeEvents()).toMatchObject([{ type: 'close', code: 1002 }]);
  });

  it('the connection stays open for replies until the events before the violation are taken', () => {
    const connection = new Connection({ role: 'server' });
    connection.receive(concat([clientFrame({ opcode: 1, payload: 'a' }), clientFrame({ opcode: 0, payload: 'b' })]));
    expect(connection.state).toBe('open');
    expect(connection.failurePending).toBe(true);
    expect(connection.takeOutput()).toEqual([]);
    connection.takeEvents();
    connection.sendText('reply');
    expect(connection.state).toBe('open');
    expect(connection.takeEvents()).toMatchObject([{ type: 'close', code: 1002, error: { kind: 'unexpected-continuation' } }]);
    expect(connection.state).toBe('closed');
    expect(connection.transportAction).toBe('end-transport');
    expect(parseFrames(concat(connection.takeOutput())).map((f) => f.opcode)).toEqual([1, 8]);
  });

  it('the end of the transport applies a pending failure after the events before it', () => {
    const connection = new Connection({ role: 'server' });
    connection.receive(concat([clientFrame({ opcode: 2, payload: 'a' }), clientFrame({ opcode: 1, rsv: 4 })]));
    connection.receiveEnd();
    expect(connection.takeEvents()).toMatchObject([{ type: 'binary' }, { type: 'close', code: 1002, initiator: 'failure' }]);
    expect(connection.failurePending).toBe(false);
  });

  it('later bytes never reach the decoder once a failure is pending', () => {
    const connection = new Connection({ role: 'server' });
    connection.receive(concat([clientFrame({ opcode: 1, payload: 'a' }), clientFrame({ opcode: 0xf })]));
    connection.receive(clientFrame({ opcode: 1, payload: 'b' }));
    expect(connection.takeEvents()).toMatchObject([{ type: 'text', data: 'a' }, { type: 'close', code: 1002 }]);
  });


  it('with permessage-deflate, a compressed echo still being compressed leaves before the close frame', async () => {
    let woken = (): void => {};
    const connection = new Connection({
      role: 'server',
      perMessageDeflate: { params: noContextTakeover, compressor: streamCompressor(), threshold: 0 },
      onWakeup: () => woken(),
    });
    const events: ConnectionEvent[] = [];
    const output: Uint8Array[] = [];
    const drive = (): void => {
      do {
        for (const event of connection.takeEvents()) {
          events.push(event);
          if (event.type === 'text') connection.sendText(event.data);
        }
      } while (connection.failurePending);
      output.push(...connection.takeOutput());
    };
    const compressed = clientFrame({ opcode: 1, rsv: 4, payload: await deflateMessage('Hello, world!') });
    connection.receive(concat([compressed, clientFrame({ opcode: 1, rsv: 2, payload: 'bad' }), clientFrame({ opcode: 9 })]));
    drive();
    // Inflating the message, then compressing its echo, then the close frame behind it.
    while (connection.transportAction !== 'end-transport') {
      await new Promise<void>((resolve) => (woken = resolve));
      drive();
    }
    expect(events.map((e) => e.type)).toEqual(['text', 'close']);
    expect(events[1]).toMatchObject({ code: 1002, error: { kind: 'reserved-bits' } });
    const frames = parseFrames(concat(output));
    expect(frames.map((f) => [f.opcode, f.rsv])).toEqual([
      [1, 4],
      [8, 0],
    ]);
    expect(closeCodeOf(frames[1]!.payload)).toBe(1002);
  });
});
