import { describe, expect, it } from 'vitest';
import type { CloseEvent, Connection, ProtocolViolationKind } from '@switchyard/codec';
import { client, closeCodeOf, concat, hex, outputFrames, server } from './support/wire.js';

/**
 * One test per rule of RFC 6455 a peer can break, each fed as a hex fixture. Client frames use
 * the all-zero mask key (00 00 00 00) so that their payload bytes read as they are.
 */
function expectFailure(connection: Connection, chunks: readonly string[], kind: ProtocolViolationKind, code: number): void {
  for (const chunk of chunks) connection.receive(hex(chunk));
  const events = connection.takeEvents();
  const close = events.find((e): e is CloseEvent => e.type === 'close');
  expect(close, 'a close event').toBeDefined();
  expect(close!.error?.kind).toBe(kind);
  expect(close!.code).toBe(code);
  expect(close!.wasClean).toBe(false);
  expect(close!.initiator).toBe('failure');
  expect(connection.state).toBe('closed');
  expect(connection.transportAction).toBe('end-transport');
  const sent = outputFrames(connection).filter((f) => f.opcode === 8);
  expect(sent).toHaveLength(1);
  expect(closeCodeOf(sent[0]!.payload)).toBe(code);
}

describe('a server fails the connection when', () => {
  it('a frame sets RSV1 and no extension was negotiated (1002)', () => {
    expectFailure(server(), ['c1 80 00 00 00 00'], 'reserved-bits', 1002);
  });

  it('a frame sets RSV2 (1002)', () => {
    expectFailure(server(), ['a1 80 00 00 00 00'], 'reserved-bits', 1002);
  });

  it('a frame sets RSV3 (1002)', () => {
    expectFailure(server(), ['91 80 00 00 00 00'], 'reserved-bits', 1002);
  });

  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    it(`a frame uses the reserved opcode 0x${opcode.toString(16)} (1002)`, () => {
      expectFailure(server(), [`8${opcode.toString(16)} 80 00 00 00 00`], 'reserved-opcode', 1002);
    });
  }

  it('a client frame is not masked (1002)', () => {
    expectFailure(server(), ['81 02 68 69'], 'unmasked-client-frame', 1002);
  });

  it('a ping is fragmented (1002)', () => {
    expectFailure(server(), ['09 80 00 00 00 00'], 'fragmented-control-frame', 1002);
  });

  it('a close frame is fragmented (1002)', () => {
    expectFailure(server(), ['08 80 00 00 00 00'], 'fragmented-control-frame', 1002);
  });

  it('a ping declares a 126-byte payload, before any of it arrives (1002)', () => {
    expectFailure(server(), ['89 fe 00 7e'], 'control-frame-too-long', 1002);
  });

  it('a pong declares a 64-bit length (1002)', () => {
    expectFailure(server(), ['8a ff'], 'control-frame-too-long', 1002);
  });

  it('a 5-byte payload uses the 16-bit length form (non-minimal, 1002)', () => {
    expectFailure(server(), ['81 fe 00 05 00 00 00 00 68 65 6c 6c 6f'], 'non-minimal-length', 1002);
  });

  it('a 200-byte payload uses the 64-bit length form (non-minimal, 1002)', () => {
    expectFailure(server(), ['82 ff 00 00 00 00 00 00 00 c8 00 00 00 00'], 'non-minimal-length', 1002);
  });

  it('a 64-bit length has its most significant bit set (1002)', () => {
    expectFailure(server(), ['82 ff 80 00 00 00 00 00 00 00 00 00 00 00'], 'length-msb-set', 1002);
  });

  it('a frame declares 2^62 bytes, refused before any allocation (1009)', () => {
    expectFailure(server(), ['82 ff 40 00 00 00 00 00 00 00 00 00 00 00'], 'message-too-big', 1009);
  });

  it('a frame declares more than maxMessageSize, refused as soon as its header arrives (1009)', () => {
    expectFailure(server({ maxMessageSize: 10 }), ['82 8b 00 00 00 00'], 'message-too-big', 1009);
  });

  it('the fragments of a message add up to more than maxMessageSize (1009)', () => {
    expectFailure(server({ maxMessageSize: 4 }), ['02 83 00 00 00 00 61 62 63', '80 82 00 00 00 00'], 'message-too-big', 1009);
  });

  it('a message has more fragments than maxFragments (1009)', () => {
    expectFailure(
      server({ maxFragments: 2 }),
      ['02 81 00 00 00 00 61', '00 81 00 00 00 00 62', '80 81 00 00 00 00 63'],
      'too-many-fragments',
      1009,
    );
  });

  it('a continuation frame arrives with no message to continue (1002)', () => {
    expectFailure(server(), ['80 81 00 00 00 00 61'], 'unexpected-continuation', 1002);
  });

  it('a new text frame starts while a fragmented message is in progress (1002)', () => {
    expectFailure(server(), ['01 81 00 00 00 00 61', '81 81 00 00 00 00 62'], 'expected-continuation', 1002);
  });

  it('a text message is not valid UTF-8 (1007)', () => {
    expectFailure(server(), ['81 82 00 00 00 00 c3 28'], 'invalid-utf8', 1007);
  });

  it('the first fragment of a text message holds an encoded surrogate, before the message ends (1007)', () => {
    expectFailure(server(), ['01 82 00 00 00 00 ed a0'], 'invalid-utf8', 1007);
  });

  it('a fragmented text message ends inside a UTF-8 sequence (1007)', () => {
    expectFailure(server(), ['01 81 00 00 00 00 e2', '80 81 00 00 00 00 82'], 'invalid-utf8', 1007);
  });

  it('a close frame carries a 1-byte payload (1002)', () => {
    expectFailure(server(), ['88 81 00 00 00 00 03'], 'invalid-close-payload', 1002);
  });

  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
    it(`a close frame carries the code ${code}, which may not appear on the wire (1002)`, () => {
      const c = code.toString(16).padStart(4, '0');
      expectFailure(server(), [`88 82 00 00 00 00 ${c.slice(0, 2)} ${c.slice(2)}`], 'invalid-close-code', 1002);
    });
  }

  it('a close reason is not valid UTF-8 (1007)', () => {
    expectFailure(server(), ['88 84 00 00 00 00 03 e8 61 e2'], 'invalid-utf8', 1007);
  });
});

describe('a client fails the connection when', () => {
  it('a server frame is masked (1002)', () => {
    expectFailure(client(), ['81 82 00 00 00 00 68 69'], 'masked-server-frame', 1002);
  });

  it('a server text message is not valid UTF-8 (1007)', () => {
    expectFailure(client(), ['81 01 ff'], 'invalid-utf8', 1007);
  });
});

describe('after a violation', () => {
  it('nothing more is decoded and later bytes are ignored', () => {
    const connection = server();
    connection.receive(hex('81 02 68 69'));
    connection.takeEvents();
    connection.takeOutput();
    connection.receive(hex('81 80 00 00 00 00'));
    expect(connection.takeEvents()).toEqual([]);
    expect(connection.takeOutput()).toEqual([]);
  });

  it('the message before the bad frame is delivered, the bad frame refused, the messages after it ignored', () => {
    const connection = server();
    connection.receive(concat([hex('81 81 00 00 00 00 61'), hex('83 80 00 00 00 00'), hex('81 81 00 00 00 00 62')]));
    expect(connection.takeEvents()).toEqual([{ type: 'text', data: 'a' }]);
    expect(connection.failurePending).toBe(true);
    expect(connection.takeEvents()).toMatchObject([{ type: 'close', code: 1002, initiator: 'failure' }]);
    expect(connection.failurePending).toBe(false);
    expect(connection.takeEvents()).toEqual([]);
  });

  it('a violation while our own close is in flight sends no second close frame', () => {
    const connection = server();
    connection.close(1000);
    connection.takeOutput();
    connection.receive(hex('83 80 00 00 00 00'));
    expect(connection.takeEvents()).toMatchObject([{ type: 'close', code: 1002, wasClean: false }]);
    expect(connection.takeOutput()).toEqual([]);
  });
});
