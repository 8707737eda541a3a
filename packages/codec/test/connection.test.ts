import { describe, expect, it } from 'vitest';
import {
  CloseCode,
  ConnectionClosedError,
  InvalidArgumentError,
  InvalidCloseError,
  prepareMessage,
  type ConnectionEvent,
} from '@switchyard/codec';
import { client, clientFrame, closeCodeOf, concat, feed, frame, hex, outputFrames, parseFrames, server, toHex } from './support/wire.js';

const text = (data: string): ConnectionEvent => ({ type: 'text', data });

describe('RFC 6455 §5.7 examples', () => {
  it('a single-frame unmasked text message reaches a client as "Hello"', () => {
    expect(feed(client(), hex('81 05 48 65 6c 6c 6f'))).toEqual([text('Hello')]);
  });

  it('a single-frame masked text message reaches a server as "Hello"', () => {
    expect(feed(server(), hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'))).toEqual([text('Hello')]);
  });

  it('a fragmented unmasked text message reaches a client as one "Hello"', () => {
    expect(feed(client(), hex('01 03 48 65 6c 80 02 6c 6f'))).toEqual([text('Hello')]);
  });

  it('an unmasked ping is reported to a client and answered with a masked pong carrying "Hello"', () => {
    const connection = client();
    expect(feed(connection, hex('89 05 48 65 6c 6c 6f'))).toEqual([{ type: 'ping', data: hex('48 65 6c 6c 6f') }]);
    // With the mask key 37 fa 21 3d the pong is byte for byte the RFC's masked pong example.
    expect(toHex(concat(connection.takeOutput()))).toBe('8a 85 37 fa 21 3d 7f 9f 4d 51 58');
  });

  it('a client sends "Hello" as the RFC masked frame when its key is 37 fa 21 3d', () => {
    const connection = client();
    connection.sendText('Hello');
    expect(toHex(concat(connection.takeOutput()))).toBe('81 85 37 fa 21 3d 7f 9f 4d 51 58');
  });

  it('a server sends "Hello" as the RFC unmasked frame', () => {
    const connection = server();
    connection.sendText('Hello');
    expect(toHex(concat(connection.takeOutput()))).toBe('81 05 48 65 6c 6c 6f');
  });

  it('256 bytes of binary use the 16-bit length form 82 7e 01 00', () => {
    const payload = new Uint8Array(256).map((_, i) => i);
    const connection = server();
    connection.sendBinary(payload);
    const out = concat(connection.takeOutput());
    expect(toHex(out.subarray(0, 4))).toBe('82 7e 01 00');
    expect(out.subarray(4)).toEqual(payload);
    expect(feed(client(), out)).toEqual([{ type: 'binary', data: payload }]);
  });

  it('64 KiB of binary use the 64-bit length form 82 7f 00 00 00 00 00 01 00 00', () => {
    const payload = new Uint8Array(65536).map((_, i) => i * 31);
    const connection = server();
    connection.sendBinary(payload);
    const out = connection.takeOutput();
    expect(toHex(out[0]!)).toBe('82 7f 00 00 00 00 00 01 00 00');
    // Large payloads are queued as they are, not copied.
    expect(out[1]).toBe(payload);
    expect(feed(client(), concat(out))).toEqual([{ type: 'binary', data: payload }]);
  });
});

describe('receiving', () => {
  it('decodes frames delivered one byte at a time', () => {
    const bytes = concat([clientFrame({ opcode: 1, payload: 'x'.repeat(300) }), clientFrame({ opcode: 2, payload: hex('01 02') })]);
    const sizes = Array.from({ length: bytes.length }, () => 1);
    expect(feed(server(), bytes, sizes)).toEqual([text('x'.repeat(300)), { type: 'binary', data: hex('01 02') }]);
  });

  it('decodes many frames delivered in one chunk, in order', () => {
    const frames = Array.from({ length: 100 }, (_, i) => clientFrame({ opcode: 1, payload: `m${i}` }));
    expect(feed(server(), concat(frames))).toEqual(Array.from({ length: 100 }, (_, i) => text(`m${i}`)));
  });

  it('keeps a text message starting with a byte order mark intact', () => {
    expect(feed(server(), clientFrame({ opcode: 1, payload: '\ufeffhi' }))).toEqual([text('\ufeffhi')]);
  });

  it('delivers empty text and binary messages', () => {
    const bytes = concat([clientFrame({ opcode: 1 }), clientFrame({ opcode: 2 })]);
    expect(feed(server(), bytes)).toEqual([text(''), { type: 'binary', data: new Uint8Array(0) }]);
  });

  it('delivers control frames that arrive between the fragments of a message', () => {
    const bytes = concat([
      clientFrame({ opcode: 1, fin: false, payload: 'Hel' }),
      clientFrame({ opcode: 9, payload: 'p' }),
      clientFrame({ opcode: 0xa, payload: 'q' }),
      clientFrame({ opcode: 0, payload: 'lo' }),
    ]);
    const connection = server();
    expect(feed(connection, bytes)).toEqual([
      { type: 'ping', data: hex('70') },
      { type: 'pong', data: hex('71') },
      text('Hello'),
    ]);
    expect(outputFrames(connection)).toEqual([{ fin: true, rsv: 0, opcode: 0xa, masked: false, payload: hex('70') }]);
  });

  it('answers every ping of a burst with its own pong', () => {
    const connection = server();
    feed(connection, concat(Array.from({ length: 10 }, (_, i) => clientFrame({ opcode: 9, payload: `${i}` }))));
    expect(outputFrames(connection).map((f) => new TextDecoder().decode(f.payload))).toEqual(
      Array.from({ length: 10 }, (_, i) => `${i}`),
    );
  });

  it('reports a ping with a binary, non-UTF-8 payload unchanged', () => {
    const connection = server();
    expect(feed(connection, clientFrame({ opcode: 9, payload: hex('ff fe 00') }))).toEqual([{ type: 'ping', data: hex('ff fe 00') }]);
  });
});

describe('sending', () => {
  it('fragments a message at the requested size: first frame with the opcode, then continuations, FIN on the last', () => {
    const connection = server();
    connection.sendText('abcdefg', { fragmentSize: 3 });
    expect(outputFrames(connection).map((f) => [f.opcode, f.fin, new TextDecoder().decode(f.payload)])).toEqual([
      [1, false, 'abc'],
      [0, false, 'def'],
      [0, true, 'g'],
    ]);
  });

  it('masks every client frame with a fresh key from the random source', () => {
    let counter = 0;
    const connection = client({ randomBytes: (t) => t.forEach((_, i) => (t[i] = counter++ & 0xff)) });
    connection.sendBinary(hex('00 00 00 00'));
    connection.sendBinary(hex('00 00 00 00'));
    expect(toHex(concat(connection.takeOutput()))).toBe('82 84 00 01 02 03 00 01 02 03 82 84 04 05 06 07 04 05 06 07');
  });

  it('never modifies the bytes a client sends', () => {
    const data = hex('01 02 03 04 05');
    const connection = client();
    connection.sendBinary(data);
    expect(data).toEqual(hex('01 02 03 04 05'));
  });

  it('sends pings and pongs with string or byte payloads up to 125 bytes', () => {
    const connection = server();
    connection.ping('hi');
    connection.pong(hex('01'));
    connection.ping();
    expect(outputFrames(connection).map((f) => [f.opcode, toHex(f.payload)])).toEqual([
      [9, '68 69'],
      [0xa, '01'],
      [9, ''],
    ]);
    expect(() => connection.ping('x'.repeat(126))).toThrow(InvalidArgumentError);
  });

  it('refuses options that are not non-negative integers, with InvalidArgumentError', () => {
    expect(() => server({ maxMessageSize: -1 })).toThrow(InvalidArgumentError);
    expect(() => server({ maxFragments: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => server({ maxMessageSize: Number.NaN })).toThrow(InvalidArgumentError);
  });

  it('refuses a fragment size that is not a non-negative integer', () => {
    expect(() => server().sendText('x', { fragmentSize: 1.5 })).toThrow(InvalidArgumentError);
  });

  it('queues a prepared message as its prepared chunks on a server', () => {
    const prepared = prepareMessage('Hello');
    const connection = server();
    connection.sendPrepared(prepared);
    expect(connection.bufferedOutput).toBe(prepared.byteLength);
    expect(connection.takeOutput()).toEqual([...prepared.chunks]);
    expect(connection.bufferedOutput).toBe(0);
  });

  it('encodes a prepared message with a mask on a client', () => {
    const connection = client();
    connection.sendPrepared(prepareMessage('Hello'));
    expect(toHex(concat(connection.takeOutput()))).toBe('81 85 37 fa 21 3d 7f 9f 4d 51 58');
  });

  it('writes consecutive small frames into one output chunk, and keeps order around large ones', () => {
    const connection = server();
    const large = new Uint8Array(5000).fill(7);
    connection.sendText('a');
    connection.sendText('b');
    connection.sendBinary(large);
    connection.sendText('c');
    const output = connection.takeOutput();
    expect(output.map((chunk) => chunk.length)).toEqual([6, 4, 5000, 3]);
    expect(output[2]).toBe(large);
    expect(parseFrames(concat(output)).map((f) => f.payload.length)).toEqual([1, 1, 5000, 1]);
    connection.sendText('d');
    expect(toHex(concat(connection.takeOutput()))).toBe('81 01 64');
  });

  it('keeps the small frames of connections that send in turn apart and in order', () => {
    const a = server();
    const b = client();
    for (let i = 0; i < 3000; i++) {
      a.sendText(`a${i}`);
      b.sendText(`b${i}`);
      if (i % 1000 === 999) {
        // Taking output in the middle must not disturb frames written afterwards.
        expect(parseFrames(concat(a.takeOutput())).map((f) => new TextDecoder().decode(f.payload))).toEqual(
          Array.from({ length: 1000 }, (_, k) => `a${i - 999 + k}`),
        );
      }
    }
    const fromB = parseFrames(concat(b.takeOutput()));
    expect(fromB.map((f) => new TextDecoder().decode(f.payload))).toEqual(Array.from({ length: 3000 }, (_, k) => `b${k}`));
    expect(fromB.every((f) => f.masked)).toBe(true);
  });

  it('counts queued bytes in bufferedOutput until they are taken', () => {
    const connection = server();
    connection.sendBinary(new Uint8Array(2000));
    expect(connection.bufferedOutput).toBe(2004);
    connection.takeOutput();
    expect(connection.bufferedOutput).toBe(0);
  });
});

describe('the close handshake', () => {
  it('a server that starts the close waits for the reply, then ends the transport', () => {
    const connection = server();
    connection.close(CloseCode.GoingAway, 'bye');
    expect(connection.state).toBe('closing');
    expect(connection.transportAction).toBe('await-close');
    const [sent] = outputFrames(connection);
    expect(sent!.opcode).toBe(8);
    expect(toHex(sent!.payload)).toBe('03 e9 62 79 65');
    expect(feed(connection, clientFrame({ opcode: 8, payload: hex('03 e9') }))).toEqual([
      { type: 'close', code: 1001, reason: '', wasClean: true, initiator: 'local' },
    ]);
    expect(connection.state).toBe('closed');
    expect(connection.transportAction).toBe('end-transport');
    expect(connection.takeOutput()).toEqual([]);
  });

  it("a server answers the peer's close with the same code and ends the transport", () => {
    const connection = server();
    expect(feed(connection, clientFrame({ opcode: 8, payload: hex('03 e8 62 79 65') }))).toEqual([
      { type: 'close', code: 1000, reason: 'bye', wasClean: true, initiator: 'remote' },
    ]);
    const [reply] = outputFrames(connection);
    expect(reply!.opcode).toBe(8);
    expect(closeCodeOf(reply!.payload)).toBe(1000);
    expect(connection.state).toBe('closed');
    expect(connection.transportAction).toBe('end-transport');
  });

  it('a client that receives the close replies and waits for the server to end TCP', () => {
    const connection = client();
    expect(feed(connection, frame({ opcode: 8, payload: hex('0f a0') }))[0]).toMatchObject({ code: 4000, initiator: 'remote' });
    expect(outputFrames(connection)[0]).toMatchObject({ opcode: 8, masked: true, payload: hex('0f a0') });
    expect(connection.transportAction).toBe('await-transport-end');
    connection.receiveEnd();
    expect(connection.transportAction).toBe('end-transport');
    expect(connection.takeEvents()).toEqual([]);
  });

  it('an empty close frame is reported as 1005 and answered with an empty close frame', () => {
    const connection = server();
    expect(feed(connection, clientFrame({ opcode: 8 }))[0]).toMatchObject({ code: 1005, wasClean: true });
    expect(outputFrames(connection)).toEqual([{ fin: true, rsv: 0, opcode: 8, masked: false, payload: new Uint8Array(0) }]);
  });

  it('frames after the peer close frame are ignored', () => {
    const connection = server();
    const bytes = concat([clientFrame({ opcode: 8, payload: hex('03 e8') }), clientFrame({ opcode: 1, payload: 'too late' })]);
    expect(feed(connection, bytes).map((e) => e.type)).toEqual(['close']);
    expect(outputFrames(connection).map((f) => f.opcode)).toEqual([8]);
  });

  it('data that arrives while our close is in flight is still delivered', () => {
    const connection = server();
    connection.close(1000);
    connection.takeOutput();
    expect(feed(connection, clientFrame({ opcode: 1, payload: 'late' }))).toEqual([text('late')]);
  });

  it('pings that arrive after our close frame are not answered', () => {
    const connection = server();
    connection.close(1000);
    connection.takeOutput();
    feed(connection, clientFrame({ opcode: 9, payload: 'p' }));
    expect(connection.takeOutput()).toEqual([]);
  });

  it('the transport ending without a close frame is an abnormal closure (1006)', () => {
    const connection = server();
    connection.receiveEnd();
    expect(connection.takeEvents()).toEqual([{ type: 'close', code: 1006, reason: '', wasClean: false, initiator: 'failure' }]);
    expect(connection.state).toBe('closed');
    expect(connection.transportAction).toBe('end-transport');
  });

  it('the transport ending during our close reports a local, unclean 1006', () => {
    const connection = client();
    connection.close(1000);
    connection.receiveEnd();
    expect(connection.takeEvents()).toEqual([{ type: 'close', code: 1006, reason: '', wasClean: false, initiator: 'local' }]);
  });

  it('close is idempotent once closing', () => {
    const connection = server();
    connection.close(1000);
    connection.close(1001);
    expect(outputFrames(connection)).toHaveLength(1);
  });

  it('close without a code sends an empty close frame', () => {
    const connection = server();
    connection.close();
    expect(outputFrames(connection)[0]!.payload).toEqual(new Uint8Array(0));
  });

  it('sending after close throws ConnectionClosedError', () => {
    const connection = server();
    connection.close(1000);
    expect(() => connection.sendText('x')).toThrow(ConnectionClosedError);
    expect(() => connection.sendBinary(new Uint8Array(1))).toThrow(ConnectionClosedError);
    expect(() => connection.ping()).toThrow(ConnectionClosedError);
    expect(() => connection.sendPrepared(prepareMessage('x'))).toThrow(ConnectionClosedError);
    try {
      connection.sendText('x');
    } catch (error) {
      expect((error as ConnectionClosedError).code).toBe('ERR_CONNECTION_CLOSED');
    }
  });

  it('a close code that may not be sent, or a reason over 123 bytes, throws InvalidCloseError and changes nothing', () => {
    const connection = server();
    expect(() => connection.close(1005)).toThrow(InvalidCloseError);
    expect(() => connection.close(1000, 'é'.repeat(62))).toThrow(InvalidCloseError);
    expect(connection.state).toBe('open');
    expect(connection.takeOutput()).toEqual([]);
  });

  it('the close event is emitted exactly once', () => {
    const connection = server();
    feed(connection, clientFrame({ opcode: 8, payload: hex('03 e8') }));
    connection.receiveEnd();
    feed(connection, clientFrame({ opcode: 8, payload: hex('03 e8') }));
    expect(connection.takeEvents()).toEqual([]);
  });
});
