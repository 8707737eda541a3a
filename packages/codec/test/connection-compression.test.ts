import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Connection, isValidCloseCode, type CloseEvent, type ConnectionEvent, type Role } from '@switchyard/codec';
import { deflateMessage, noContextTakeover, streamCompressor } from './support/compression.js';
import { KEY, concat, frame, parseFrames } from './support/wire.js';

function deflating(role: Role, options: { threshold?: number; maxMessageSize?: number } = {}) {
  let wakeups = 0;
  let notify: (() => void) | undefined;
  const compressor = streamCompressor();
  const connection = new Connection({
    role,
    maxMessageSize: options.maxMessageSize,
    perMessageDeflate: { params: noContextTakeover, compressor, threshold: options.threshold },
    onWakeup: () => {
      wakeups++;
      notify?.();
    },
  });
  /** Resolves at the next wakeup. */
  const wakeup = () => new Promise<void>((resolve) => (notify = resolve));
  /** Waits until `done()` holds, one wakeup at a time. */
  const until = async (done: () => boolean) => {
    while (!done()) await wakeup();
  };
  return { connection, compressor, wakeup, until, wakeups: () => wakeups };
}

const fromClient = (spec: Parameters<typeof frame>[0]) => frame({ ...spec, mask: KEY });
const inflateText = async (payload: Uint8Array) => {
  const out = await streamCompressor().decompress([payload], 1 << 20);
  return new TextDecoder().decode(out!);
};

describe('permessage-deflate in the connection', () => {
  it('inflates a compressed message (RSV1 on its first frame) and reports it', async () => {
    const { connection, until } = deflating('server');
    const events: ConnectionEvent[] = [];
    connection.receive(fromClient({ opcode: 1, rsv: 4, payload: await deflateMessage('Hello, deflate') }));
    await until(() => (events.push(...connection.takeEvents()), events.length > 0));
    expect(events).toEqual([{ type: 'text', data: 'Hello, deflate' }]);
  });

  it('inflates a compressed message sent in fragments, RSV1 on the first only', async () => {
    const { connection, until } = deflating('server');
    const compressed = await deflateMessage('x'.repeat(5000));
    const half = compressed.length >> 1;
    connection.receive(
      concat([
        fromClient({ opcode: 1, rsv: 4, fin: false, payload: compressed.subarray(0, half) }),
        fromClient({ opcode: 9, payload: 'p' }),
        fromClient({ opcode: 0, payload: compressed.subarray(half) }),
      ]),
    );
    const events: ConnectionEvent[] = [];
    await until(() => (events.push(...connection.takeEvents()), events.length > 1));
    expect(events).toEqual([{ type: 'ping', data: new TextEncoder().encode('p') }, { type: 'text', data: 'x'.repeat(5000) }]);
  });

  it('keeps the order of events: frames after a compressed message wait for its inflation', async () => {
    const { connection, until } = deflating('server');
    connection.receive(
      concat([
        fromClient({ opcode: 1, payload: 'one' }),
        fromClient({ opcode: 1, rsv: 4, payload: await deflateMessage('two') }),
        fromClient({ opcode: 9, payload: 'three' }),
      ]),
    );
    connection.receive(fromClient({ opcode: 2, payload: 'four' }));
    const events: ConnectionEvent[] = [];
    await until(() => (events.push(...connection.takeEvents()), events.length >= 4));
    expect(events.map((e) => (e.type === 'text' ? e.data : new TextDecoder().decode((e as { data: Uint8Array }).data)))).toEqual(['one', 'two', 'three', 'four']);
  });

  it('counts the bytes waiting behind an inflation in bufferedInput until they are read', async () => {
    const { connection, until } = deflating('server');
    connection.receive(fromClient({ opcode: 1, rsv: 4, payload: await deflateMessage('first') }));
    const later = fromClient({ opcode: 1, payload: 'second' });
    connection.receive(later);
    expect(connection.bufferedInput).toBe(later.length);
    const events: ConnectionEvent[] = [];
    await until(() => (events.push(...connection.takeEvents()), events.length >= 2));
    expect(events).toEqual([{ type: 'text', data: 'first' }, { type: 'text', data: 'second' }]);
    expect(connection.bufferedInput).toBe(0);
  });

  it('reports the end of the transport after the message being inflated', async () => {
    const { connection, until } = deflating('server');
    connection.receive(fromClient({ opcode: 1, rsv: 4, payload: await deflateMessage('last words') }));
    connection.receiveEnd();
    const events: ConnectionEvent[] = [];
    await until(() => (events.push(...connection.takeEvents()), events.length >= 2));
    expect(events).toEqual([{ type: 'text', data: 'last words' }, { type: 'close', code: 1006, reason: '', wasClean: false, initiator: 'failure' }]);
  });

  it('compresses messages at or above the threshold and sends smaller ones as they are', async () => {
    const { connection, until } = deflating('server', { threshold: 100 });
    connection.sendText('a'.repeat(100));
    connection.sendText('b'.repeat(99));
    const output: Uint8Array[] = [];
    await until(() => (output.push(...connection.takeOutput()), parseFrames(concat(output)).length === 2));
    const [big, small] = parseFrames(concat(output));
    expect(big!.rsv).toBe(4);
    expect(await inflateText(big!.payload)).toBe('a'.repeat(100));
    expect(small!.rsv).toBe(0);
    expect(new TextDecoder().decode(small!.payload)).toBe('b'.repeat(99));
  });

  it('follows the compress option over the threshold', async () => {
    const { connection, until } = deflating('server');
    connection.sendText('tiny', { compress: true });
    connection.sendText('z'.repeat(5000), { compress: false });
    const output: Uint8Array[] = [];
    await until(() => (output.push(...connection.takeOutput()), parseFrames(concat(output)).length === 2));
    expect(parseFrames(concat(output)).map((f) => f.rsv)).toEqual([4, 0]);
  });

  it('sends a compressed message in fragments with RSV1 on the first frame only', async () => {
    const { connection, until } = deflating('client');
    connection.sendBinary(new Uint8Array(4000).map((_, i) => i % 7), { fragmentSize: 10 });
    const output: Uint8Array[] = [];
    await until(() => (output.push(...connection.takeOutput()), output.length > 0));
    const frames = parseFrames(concat(output));
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.map((f) => f.rsv)).toEqual([4, ...frames.slice(1).map(() => 0)]);
    expect(frames.every((f) => f.masked)).toBe(true);
    expect(frames.at(-1)!.fin).toBe(true);
  });

  it('keeps the order of sends across asynchronous compression, close frame last', async () => {
    const { connection, until } = deflating('server');
    connection.sendText('c'.repeat(2000));
    connection.sendText('small');
    connection.ping('p');
    connection.close(1000, 'bye');
    expect(connection.bufferedOutput).toBeGreaterThan(2000);
    expect(connection.transportAction).toBe('await-close');
    const output: Uint8Array[] = [];
    await until(() => (output.push(...connection.takeOutput()), parseFrames(concat(output)).length === 4));
    const frames = parseFrames(concat(output));
    expect(frames.map((f) => f.opcode)).toEqual([1, 1, 9, 8]);
    expect(await inflateText(frames[0]!.payload)).toBe('c'.repeat(2000));
    expect(connection.bufferedOutput).toBe(0);
  });

  it('holds back end-transport until a close reply queued behind compression is in the output', async () => {
    const { connection, until } = deflating('server');
    connection.sendText('d'.repeat(3000));
    connection.receive(fromClient({ opcode: 8, payload: new Uint8Array([0x03, 0xe8]) }));
    expect(connection.state).toBe('closed');
    expect(connection.transportAction).toBe('none');
    const output: Uint8Array[] = [];
    await until(() => (output.push(...connection.takeOutput()), parseFrames(concat(output)).length === 2));
    expect(parseFrames(concat(output)).map((f) => f.opcode)).toEqual([1, 8]);
    expect(connection.transportAction).toBe('end-transport');
  });

  it('fails with 1002 when a continuation frame sets RSV1', () => {
    const { connection } = deflating('server');
    connection.receive(concat([fromClient({ opcode: 1, rsv: 4, fin: false, payload: 'ab' }), fromClient({ opcode: 0, rsv: 4, payload: 'cd' })]));
    expect(connection.takeEvents()).toMatchObject([{ type: 'close', code: 1002, error: { kind: 'compressed-continuation' } }]);
  });

  it('fails with 1002 when a control frame sets RSV1', () => {
    const { connection } = deflating('server');
    connection.receive(fromClient({ opcode: 9, rsv: 4, payload: 'p' }));
    expect(connection.takeEvents()).toMatchObject([{ type: 'close', code: 1002, error: { kind: 'compressed-control-frame' } }]);
  });

  it('fails with 1007 when a compressed payload does not inflate', async () => {
    const { connection, until } = deflating('server');
    connection.receive(fromClient({ opcode: 2, rsv: 4, payload: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x01]) }));
    const events: ConnectionEvent[] = [];
    await until(() => (events.push(...connection.takeEvents()), events.length > 0));
    expect(events).toMatchObject([{ type: 'close', code: 1007, error: { kind: 'inflate-failed' } }]);
    expect(parseFrames(concat(connection.takeOutput())).map((f) => [f.opcode, (f.payload[0]! << 8) | f.payload[1]!])).toEqual([[8, 1007]]);
  });

  it('fails with 1009 when a message inflates beyond maxMessageSize (a small compressed bomb)', async () => {
    const { connection, until } = deflating('server', { maxMessageSize: 10_000 });
    const bomb = await deflateMessage(new Uint8Array(1 << 20));
    expect(bomb.length).toBeLessThan(2000);
    connection.receive(fromClient({ opcode: 2, rsv: 4, payload: bomb }));
    const events: ConnectionEvent[] = [];
    await until(() => (events.push(...connection.takeEvents()), events.length > 0));
    expect(events).toMatchObject([{ type: 'close', code: 1009, error: { kind: 'message-too-big' } }]);
  });

  it('fails with 1007 when an inflated text message is not UTF-8', async () => {
    const { connection, until } = deflating('server');
    connection.receive(fromClient({ opcode: 1, rsv: 4, payload: await deflateMessage(new Uint8Array([0x61, 0xc3, 0x28])) }));
    const events: ConnectionEvent[] = [];
    await until(() => (events.push(...connection.takeEvents()), events.length > 0));
    expect(events).toMatchObject([{ type: 'close', code: 1007, error: { kind: 'invalid-utf8' } }]);
  });

  it('a compressing client and server exchange any messages and close cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ from: fc.constantFrom<Role>('client', 'server'), text: fc.boolean(), data: fc.string({ unit: 'binary', maxLength: 3000 }), fragmentSize: fc.nat(900) }), { maxLength: 6 }),
        async (messages) => {
          const a = deflating('client', { threshold: 64 });
          const b = deflating('server', { threshold: 64 });
          const peers = { client: a, server: b };
          const received = { client: [] as ConnectionEvent[], server: [] as ConnectionEvent[] };
          const expected = { client: [] as ConnectionEvent[], server: [] as ConnectionEvent[] };
          for (const m of messages) {
            const other = m.from === 'client' ? 'server' : 'client';
            const options = { fragmentSize: m.fragmentSize || undefined };
            if (m.text) {
              peers[m.from].connection.sendText(m.data, options);
              expected[other].push({ type: 'text', data: m.data });
            } else {
              const bytes = new TextEncoder().encode(m.data);
              peers[m.from].connection.sendBinary(bytes, options);
              expected[other].push({ type: 'binary', data: bytes });
            }
          }
          a.connection.close(1000);
          // Shuttle bytes both ways until both ends have reported their close.
          const closed = (role: Role) => received[role].some((e) => e.type === 'close');
          for (let turn = 0; turn < 200 && !(closed('client') && closed('server')); turn++) {
            for (const [from, to] of [['client', 'server'], ['server', 'client']] as const) {
              for (const chunk of peers[from].connection.takeOutput()) peers[to].connection.receive(chunk);
              received[to].push(...peers[to].connection.takeEvents());
            }
            await new Promise<void>((resolve) => setTimeout(resolve, 0));
          }
          for (const role of ['client', 'server'] as const) {
            const events = received[role];
            expect(events.slice(0, -1)).toEqual(expected[role]);
            expect(events.at(-1) as CloseEvent).toMatchObject({ type: 'close', code: 1000, wasClean: true });
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 30_000);

  it('random frames, compressed or not, never throw and end in one close with a valid code', async () => {
    const frameArb = fc.record({
      fin: fc.boolean(),
      rsv: fc.constantFrom(0, 0, 4, 4, 2),
      opcode: fc.constantFrom(0, 1, 2, 8, 9, 10, 3),
      payload: fc.oneof(fc.uint8Array({ maxLength: 60 }), fc.string({ maxLength: 60 }).map((s) => new TextEncoder().encode(s))),
      deflated: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { maxLength: 8 }), async (frames) => {
        const { connection, until } = deflating('server', { maxMessageSize: 500 });
        const wire: Uint8Array[] = [];
        for (const f of frames) wire.push(fromClient({ ...f, payload: f.deflated ? await deflateMessage(f.payload) : f.payload }));
        connection.receive(concat(wire));
        connection.receiveEnd();
        const events: ConnectionEvent[] = [];
        await until(() => (events.push(...connection.takeEvents()), events.some((e) => e.type === 'close')));
        const closes = events.filter((e): e is CloseEvent => e.type === 'close');
        expect(closes).toHaveLength(1);
        expect(isValidCloseCode(closes[0]!.code) || closes[0]!.code === 1005 || closes[0]!.code === 1006).toBe(true);
      }),
      { numRuns: 100 },
    );
  }, 30_000);
});
