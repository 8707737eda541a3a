import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { answerHeartbeat, parseClientFrame, parseServerFrame, pongFor } from '../src/index.js';

describe('parseServerFrame', () => {
  it.each([
    [{ t: 'msg', type: 'said', data: { a: 1 } }],
    [{ t: 'msg', type: 'said', data: null, topic: 'room', seq: 1 }],
    [{ t: 'res', id: 3, ok: true, data: [1] }],
    [{ t: 'res', id: 0, ok: false, error: { code: 'nope', message: 'no' } }],
    [{ t: 'ping', ts: 1.5 }],
    [{ t: 'pong', ts: 0 }],
    [{ t: 'resync', topic: 'room' }],
    [{ t: 'gap', topic: 'room', from: 2, to: 2 }],
    [{ t: 'skip', topic: 'room', seq: 3 }],
  ])('accepts %j', (frame) => {
    expect(parseServerFrame(frame)).toEqual({ ok: true, frame });
  });

  it('reads a missing data field as undefined and drops unknown fields', () => {
    expect(parseServerFrame({ t: 'msg', type: 'x', extra: 1 })).toEqual({ ok: true, frame: { t: 'msg', type: 'x', data: undefined } });
    expect(parseServerFrame({ t: 'skip', topic: 'a', seq: 2, type: 'x', data: 1 })).toEqual({ ok: true, frame: { t: 'skip', topic: 'a', seq: 2 } });
  });

  it.each([
    [null],
    ['msg'],
    [[{ t: 'msg' }]],
    [{ t: 'msg' }],
    [{ t: 'msg', type: 1 }],
    [{ t: 'msg', type: 'x', topic: 'a' }],
    [{ t: 'msg', type: 'x', seq: 1 }],
    [{ t: 'msg', type: 'x', topic: 'a', seq: 0 }],
    [{ t: 'msg', type: 'x', topic: 'a', seq: 1.5 }],
    [{ t: 'res', id: -1, ok: true }],
    [{ t: 'res', id: 1, ok: 'yes' }],
    [{ t: 'res', id: 1, ok: false }],
    [{ t: 'res', id: 1, ok: false, error: { code: 1, message: 'x' } }],
    [{ t: 'ping', ts: Infinity }],
    [{ t: 'pong' }],
    [{ t: 'resync' }],
    [{ t: 'gap', topic: 'a', from: 3, to: 2 }],
    [{ t: 'skip' }],
    [{ t: 'skip', topic: 'a' }],
    [{ t: 'skip', seq: 1 }],
    [{ t: 'skip', topic: 7, seq: 1 }],
    [{ t: 'skip', topic: 'a', seq: 0 }],
    [{ t: 'skip', topic: 'a', seq: -2 }],
    [{ t: 'skip', topic: 'a', seq: 1.5 }],
    [{ t: 'skip', topic: 'a', seq: '1' }],
    [{ t: 'skip', topic: 'a', seq: Number.MAX_SAFE_INTEGER + 1 }],
    [{ t: 'resume', streams: {} }],
    [{ t: 'req', id: 1, type: 'x' }],
  ])('refuses %j with a reason', (value) => {
    const result = parseServerFrame(value);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.length).toBeGreaterThan(0);
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBigInt: true, withMap: true }), (value) => {
        const result = parseServerFrame(value);
        expect(typeof result.ok).toBe('boolean');
      }),
    );
  });

  it('never throws on decoded JSON shaped like envelopes', () => {
    const tag = fc.constantFrom('msg', 'res', 'ping', 'pong', 'resync', 'gap', 'skip', 'req', 'resume', 'x');
    const field = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null), fc.object());
    const frame = fc.record(
      { t: tag, type: field, data: field, topic: field, seq: field, id: field, ok: field, error: field, ts: field, from: field, to: field },
      { requiredKeys: ['t'] },
    );
    fc.assert(
      fc.property(frame, (value) => {
        const server = parseServerFrame(JSON.parse(JSON.stringify(value)));
        const client = parseClientFrame(JSON.parse(JSON.stringify(value)));
        // Whatever is accepted re-parses to itself: the parser's output is a valid frame.
        if (server.ok) expect(parseServerFrame(server.frame)).toEqual(server);
        if (client.ok) expect(parseClientFrame(client.frame)).toEqual(client);
      }),
    );
  });
});

describe('parseClientFrame', () => {
  it.each([
    [{ t: 'msg', type: 'say', data: 'x' }],
    [{ t: 'req', id: 7, type: 'join', data: { room: 'a' } }],
    [{ t: 'ping', ts: 5 }],
    [{ t: 'resume', streams: { a: 3, b: 0 } }],
  ])('accepts %j', (frame) => {
    const result = parseClientFrame(frame);
    expect(result.ok).toBe(true);
    expect(result.ok && { ...result.frame, ...('streams' in result.frame ? { streams: { ...result.frame.streams } } : {}) }).toEqual(frame);
  });

  it.each([[{ t: 'req', id: 'a', type: 'x' }], [{ t: 'resume', streams: { a: -1 } }], [{ t: 'resume', streams: [] }], [{ t: 'res', id: 1, ok: true }]])(
    'refuses %j',
    (value) => {
      expect(parseClientFrame(value).ok).toBe(false);
    },
  );

  it('keeps a "__proto__" topic as an ordinary key', () => {
    const result = parseClientFrame(JSON.parse('{"t":"resume","streams":{"__proto__":4}}'));
    expect(result.ok && Object.keys(result.frame.t === 'resume' ? result.frame.streams : {})).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('heartbeat helpers', () => {
  it('answers a JSON ping with the matching pong', () => {
    expect(answerHeartbeat('{"t":"ping","ts":1732190400000}')).toBe('{"t":"pong","ts":1732190400000}');
  });

  it('leaves everything else to the app', () => {
    for (const text of ['', 'ping', '{"t":"pong","ts":1}', '{"t":"msg","type":"ping"}', '{"t":"ping"}', '{"t":"ping","ts":', `{"t":"ping","ts":1,"pad":"${'x'.repeat(80)}"}`]) {
      expect(answerHeartbeat(text)).toBeUndefined();
    }
  });

  it('answers decoded pings for any serializer', () => {
    expect(pongFor({ t: 'ping', ts: 9 })).toEqual({ t: 'pong', ts: 9 });
    expect(pongFor({ t: 'ping', ts: '9' })).toBeUndefined();
    expect(pongFor(undefined)).toBeUndefined();
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(['undefined', 'string']).toContain(typeof answerHeartbeat(text));
      }),
    );
  });

  it('echoes any timestamp', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (ts) => {
        expect(JSON.parse(answerHeartbeat(JSON.stringify({ t: 'ping', ts }))!)).toEqual({ t: 'pong', ts: JSON.parse(JSON.stringify(ts)) });
      }),
    );
  });
});

describe('stream positions on the wire', () => {
  it('parses epoch and id on msg and skip, the pos frame, and resume.at; rejects bad ones', () => {
    expect(parseServerFrame({ t: 'msg', type: 'e', topic: 't', seq: 2, epoch: 'E', id: '1-0', data: 1 })).toEqual({
      ok: true,
      frame: { t: 'msg', type: 'e', topic: 't', seq: 2, epoch: 'E', id: '1-0', data: 1 },
    });
    expect(parseServerFrame({ t: 'skip', topic: 't', seq: 2, epoch: 'E' })).toEqual({ ok: true, frame: { t: 'skip', topic: 't', seq: 2, epoch: 'E' } });
    expect(parseServerFrame({ t: 'pos', topic: 't', seq: 0, epoch: 'E' })).toEqual({ ok: true, frame: { t: 'pos', topic: 't', seq: 0, epoch: 'E' } });
    expect(parseServerFrame({ t: 'pos', topic: 't', seq: -1 }).ok).toBe(false);
    expect(parseServerFrame({ t: 'msg', type: 'e', topic: 't', seq: 2, epoch: 7 }).ok).toBe(false);
    const resume = parseClientFrame({ t: 'resume', streams: { t: 3 }, at: { t: { epoch: 'E', id: 'x' }, other: { epoch: 'F' } } });
    expect(resume).toMatchObject({ ok: true, frame: { t: 'resume', streams: { t: 3 }, at: { t: { epoch: 'E', id: 'x' } } } });
    expect(parseClientFrame({ t: 'resume', streams: { t: 3 }, at: { t: { epoch: 5 } } }).ok).toBe(false);
    expect(parseClientFrame({ t: 'resume', streams: { t: 3 } })).toEqual({ ok: true, frame: { t: 'resume', streams: { t: 3 } } });
  });
});
