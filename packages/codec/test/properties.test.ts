import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Connection, isValidCloseCode, type CloseEvent, type ConnectionEvent, type Role } from '@switchyard/codec';
import { concat, frame, parseFrames, splitAt } from './support/wire.js';

/** Frames a fuzzer would send: valid, subtly invalid, and plain noise. */
const wireFrameArb = fc.record({
  fin: fc.boolean(),
  rsv: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(7) }),
  opcode: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) }, { weight: 1, arbitrary: fc.nat(15) }),
  payload: fc.oneof(fc.uint8Array({ maxLength: 130 }), fc.string({ maxLength: 40 })),
  masked: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  lengthForm: fc.constantFrom(undefined, undefined, undefined, 16 as const, 64 as const),
});
const streamArb = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: wireFrameArb.map((f) => ({ kind: 'frame' as const, f })) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 30 }).map((bytes) => ({ kind: 'noise' as const, bytes })) },
  ),
  { maxLength: 12 },
);

describe('robustness', () => {
  it('(f) random bytes fed to receive never throw and end in exactly one close with a valid code', () => {
    fc.assert(
      fc.property(streamArb, fc.constantFrom<Role>('server', 'client'), fc.array(fc.nat(), { maxLength: 10 }), (stream, role, cuts) => {
        const key = new Uint8Array([9, 8, 7, 6]);
        const bytes = concat(
          stream.map((item) => {
            if (item.kind === 'noise') return item.bytes;
            const { masked, ...rest } = item.f;
            // The right masking for the role most of the time; the wrong one when `masked` is false.
            const mask = (role === 'server') === masked ? key : undefined;
            return frame({ ...rest, mask });
          }),
        );
        const connection = new Connection({
          role,
          maxMessageSize: 200,
          maxFragments: 6,
        });
        const events: ConnectionEvent[] = [];
        const output: Uint8Array[] = [];
        for (const chunk of splitAt(bytes, cuts)) {
          connection.receive(chunk);
          events.push(...connection.takeEvents());
          output.push(...connection.takeOutput());
        }
        connection.receiveEnd();
        events.push(...connection.takeEvents());
        output.push(...connection.takeOutput());

        const closes = events.filter((e): e is CloseEvent => e.type === 'close');
        expect(closes).toHaveLength(1);
        expect(events.at(-1)).toBe(closes[0]);
        const code = closes[0]!.code;
        expect(isValidCloseCode(code) || code === 1005 || code === 1006).toBe(true);
        expect(connection.state).toBe('closed');
        // Every close frame this end sent carries a code that may be sent (or none), and only one was sent.
        const sentCloses = parseFrames(concat(output)).filter((f) => f.opcode === 8);
        expect(sentCloses.length).toBeLessThanOrEqual(1);
        for (const f of sentCloses) {
          expect(f.payload.length === 0 || isValidCloseCode((f.payload[0]! << 8) | f.payload[1]!)).toBe(true);
        }
        if (closes[0]!.error) expect(sentCloses).toHaveLength(1);
      }),
      { numRuns: 1500 },
    );
  }, 30_000);
});

type Action =
  | { kind: 'text'; from: Role; data: string; fragmentSize: number }
  | { kind: 'binary'; from: Role; data: Uint8Array; fragmentSize: number }
  | { kind: 'ping'; from: Role; data: Uint8Array };

const roleArb = fc.constantFrom<Role>('client', 'server');
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), from: roleArb, data: fc.string({ unit: 'binary', maxLength: 200 }), fragmentSize: fc.nat(50) }),
  fc.record({ kind: fc.constant('binary' as const), from: roleArb, data: fc.uint8Array({ maxLength: 3000 }), fragmentSize: fc.nat(700) }),
  fc.record({ kind: fc.constant('ping' as const), from: roleArb, data: fc.uint8Array({ maxLength: 125 }) }),
);

/** Moves output from each connection to the other, cut at arbitrary points, until both are quiet. */
function pump(a: Connection, b: Connection, cuts: readonly number[], log: Map<Connection, ConnectionEvent[]>): void {
  for (let guard = 0; guard < 100; guard++) {
    let moved = false;
    for (const [from, to] of [[a, b], [b, a]] as const) {
      const bytes = concat(from.takeOutput());
      if (bytes.length === 0) continue;
      moved = true;
      for (const chunk of splitAt(bytes, cuts)) to.receive(chunk);
    }
    for (const c of [a, b]) log.get(c)!.push(...c.takeEvents());
    if (!moved) return;
  }
  throw new Error('connections kept talking');
}

describe('two connections back to back', () => {
  it('(g) exchange any sequence of messages, pings and a close, and both end cleanly', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { maxLength: 12 }), roleArb, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), (actions, closer, cuts, pumpEach) => {
        const peers = { client: new Connection({ role: 'client' }), server: new Connection({ role: 'server' }) };
        const log = new Map<Connection, ConnectionEvent[]>([[peers.client, []], [peers.server, []]]);
        const expected = { client: [] as ConnectionEvent[], server: [] as ConnectionEvent[] };
        for (const action of actions) {
          const sender = peers[action.from];
          const other: Role = action.from === 'client' ? 'server' : 'client';
          if (action.kind === 'text') {
            sender.sendText(action.data, { fragmentSize: action.fragmentSize || undefined });
            expected[other].push({ type: 'text', data: action.data });
          } else if (action.kind === 'binary') {
            sender.sendBinary(action.data, { fragmentSize: action.fragmentSize || undefined });
            expected[other].push({ type: 'binary', data: action.data });
          } else {
            sender.ping(action.data);
            expected[other].push({ type: 'ping', data: action.data });
            expected[action.from].push({ type: 'pong', data: action.data });
          }
          if (pumpEach) pump(peers.client, peers.server, cuts, log);
        }
        peers[closer].close(4321, 'done');
        pump(peers.client, peers.server, cuts, log);

        const byType = (events: ConnectionEvent[], type: string) => events.filter((e) => e.type === type);
        for (const role of ['client', 'server'] as const) {
          const events = log.get(peers[role])!;
          // Messages and pings arrive in order. Pongs come back in order, except that a peer which
          // has already sent its close frame answers no more pings: a prefix of them arrives.
          expect(events.filter((e) => e.type !== 'pong' && e.type !== 'close')).toEqual(expected[role].filter((e) => e.type !== 'pong'));
          const pongs = byType(events, 'pong');
          expect(pongs).toEqual(byType(expected[role], 'pong').slice(0, pongs.length));
          if (pumpEach) expect(pongs).toEqual(byType(expected[role], 'pong'));
          const close = events.at(-1) as CloseEvent;
          expect(close).toEqual({ type: 'close', code: 4321, reason: role === closer ? '' : 'done', wasClean: true, initiator: role === closer ? 'local' : 'remote' });
          expect(peers[role].state).toBe('closed');
        }
        expect(peers.server.transportAction).toBe('end-transport');
        expect(peers.client.transportAction).toBe('await-transport-end');
        peers.client.receiveEnd();
        expect(peers.client.transportAction).toBe('end-transport');
        expect(peers.client.takeEvents()).toEqual([]);
      }),
      { numRuns: 300 },
    );
  }, 30_000);
});
