import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageAssembler, fragmentPayload } from '@switchyard/codec';
import { client, clientFrame, concat, server } from './support/wire.js';

describe('fragmentPayload', () => {
  it('cuts a payload into views of at most the fragment size', () => {
    const data = new Uint8Array(10).map((_, i) => i);
    const pieces = fragmentPayload(data, 4);
    expect(pieces.map((p) => [...p])).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(pieces.every((p) => p.buffer === data.buffer)).toBe(true);
    expect(fragmentPayload(new Uint8Array(0), 4)).toHaveLength(1);
  });
});

describe('MessageAssembler', () => {
  it('counts empty fragments against the fragment limit', () => {
    const assembler = new MessageAssembler({ maxMessageSize: 0, maxFragments: 2 });
    expect(assembler.start(2, false, new Uint8Array(0))).toBeUndefined();
    expect(assembler.add(new Uint8Array(0))).toBeUndefined();
    expect(assembler.add(new Uint8Array(0))?.kind).toBe('too-many-fragments');
  });
});

const controlArb = fc.record({ opcode: fc.constantFrom(9, 10), payload: fc.uint8Array({ maxLength: 125 }) });
const messageArb = fc.record({
  binary: fc.boolean(),
  text: fc.string({ unit: 'binary', maxLength: 300 }),
  bytes: fc.uint8Array({ maxLength: 300 }),
  sizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
  controls: fc.array(fc.tuple(fc.nat(20), controlArb), { maxLength: 4 }),
});

describe('reassembly', () => {
  it('(c) any message fragmented at any sizes, with control frames interleaved, reassembles to itself', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), (messages, cuts) => {
        const wire: Uint8Array[] = [];
        const expected: unknown[] = [];
        for (const m of messages) {
          const payload = m.binary ? m.bytes : new TextEncoder().encode(m.text);
          // Fragment at the listed sizes, cycling; control frames go between fragments.
          const fragments: Uint8Array[] = [];
          for (let at = 0, i = 0; at < payload.length || fragments.length === 0; i++) {
            const size = m.sizes[i % m.sizes.length]!;
            fragments.push(payload.subarray(at, at + size));
            at += size;
          }
          fragments.forEach((piece, i) => {
            for (const [slot, control] of m.controls) {
              if (slot % fragments.length === i && i > 0) {
                wire.push(clientFrame({ opcode: control.opcode, payload: control.payload }));
                expected.push({ type: control.opcode === 9 ? 'ping' : 'pong', data: control.payload });
              }
            }
            wire.push(clientFrame({ opcode: i === 0 ? (m.binary ? 2 : 1) : 0, fin: i === fragments.length - 1, payload: piece }));
          });
          expected.push(m.binary ? { type: 'binary', data: m.bytes } : { type: 'text', data: m.text });
        }
        const bytes = concat(wire);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const connection = server();
        let start = 0;
        for (const end of [...points, bytes.length]) {
          connection.receive(bytes.slice(start, end));
          start = end;
        }
        expect(connection.takeEvents()).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  }, 30_000);

  it('a fragmented message sent by one connection is reassembled by the other', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 1, max: 500 }), (data, fragmentSize) => {
        const sender = client();
        sender.sendBinary(data, { fragmentSize });
        const receiver = server();
        for (const chunk of sender.takeOutput()) receiver.receive(chunk);
        expect(receiver.takeEvents()).toEqual([{ type: 'binary', data }]);
      }),
    );
  });
});
