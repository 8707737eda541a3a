import { decode, encode } from '@msgpack/msgpack';
import { type } from 'arktype';
import fc from 'fast-check';
import * as v from 'valibot';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { RequestError } from '../src/errors.js';
import { defineProtocol } from '../src/protocol.js';
import type { Serializer } from '../src/serializer.js';
import type { StandardSchemaV1 } from '../src/validate.js';
import { settle } from './fake-socket.js';
import { type Chat, connected, setup } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-21T12:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

const say = (text: string) => ({ t: 'msg', type: 'say', data: { text } });

describe('send and the offline queue', () => {
  it('sends at once when open', async () => {
    const { client, fake } = await connected();
    expect(client.send('say', { text: 'hi' })).toBe('sent');
    expect(client.send('typing')).toBe('sent');
    expect(fake.last.frames()).toEqual([say('hi'), { t: 'msg', type: 'typing' }]);
  });

  it('queues while not open and flushes in order on open, before anything sent later', async () => {
    const { client, fake } = await setup({ autoConnect: false });
    expect(client.send('say', { text: '1' })).toBe('queued');
    client.connect();
    expect(client.send('say', { text: '2' })).toBe('queued');
    await settle();
    expect(client.send('say', { text: '3' })).toBe('queued');
    client.onEvent('state', (change) => {
      if (change.state === 'open') client.send('say', { text: '4' });
    });
    fake.last.open();
    expect(fake.last.frames()).toEqual([say('1'), say('2'), say('3'), say('4')]);
  });

  it('keeps what was queued across failed attempts', async () => {
    const { client, fake, states, drops } = await setup();
    client.send('say', { text: 'a' });
    fake.last.drop();
    client.send('say', { text: 'b' });
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.open();
    expect(fake.last.frames()).toEqual([say('a'), say('b')]);
    expect(drops).toEqual([]);
  });

  it('refuses and reports a message beyond the count bound', async () => {
    const { client, drops } = await setup({ queueMaxCount: 2 });
    expect(client.send('say', { text: '1' })).toBe('queued');
    expect(client.send('say', { text: '2' })).toBe('queued');
    expect(client.send('say', { text: '3' })).toBe('dropped');
    expect(drops).toEqual([{ reason: 'queue-full', kind: 'message', type: 'say', data: { text: '3' } }]);
  });

  it('bounds the queue by encoded UTF-8 bytes', async () => {
    const size = JSON.stringify(say('é')).length + 1; // 'é' takes 2 bytes
    const { client, drops, fake } = await setup({ queueMaxBytes: size * 2 });
    expect(client.send('say', { text: 'é' })).toBe('queued');
    expect(client.send('say', { text: 'é' })).toBe('queued');
    expect(client.send('say', { text: 'x' })).toBe('dropped');
    expect(drops.map((d) => d.reason)).toEqual(['queue-full']);
    fake.last.open();
    expect(fake.last.frames()).toEqual([say('é'), say('é')]);
  });

  it('drops and reports messages older than the TTL when it passes', async () => {
    const { client, fake, drops } = await setup({ queueTtl: 5_000, connectTimeout: 60_000 });
    client.send('say', { text: 'old' });
    await vi.advanceTimersByTimeAsync(3_000);
    client.send('say', { text: 'new' });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(drops).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(drops).toEqual([{ reason: 'expired', kind: 'message', type: 'say', data: { text: 'old' } }]);
    await vi.advanceTimersByTimeAsync(2_000);
    fake.last.open();
    expect(fake.last.frames()).toEqual([say('new')]);
  });

  it('reports everything still queued when the app closes, and drops sends after close', async () => {
    const { client, drops } = await setup();
    client.send('say', { text: 'a' });
    client.send('typing');
    client.close();
    expect(client.send('say', { text: 'late' })).toBe('dropped');
    expect(drops.map((d) => [d.reason, d.type])).toEqual([
      ['closed', 'say'],
      ['closed', 'typing'],
      ['closed', 'say'],
    ]);
  });

  it('throws to the caller when a payload cannot be encoded', async () => {
    const { client } = await connected();
    const cyclic: { text: string; self?: unknown } = { text: 'x' };
    cyclic.self = cyclic;
    expect(() => client.send('say', cyclic)).toThrow(TypeError);
  });
});

describe('requests', () => {
  it('resolves with the reply that carries its id', async () => {
    const { client, fake } = await connected();
    const first = client.request('join', { room: 'a' });
    const second = client.request('join', { room: 'b' });
    expect(fake.last.frames()).toEqual([
      { t: 'req', id: 0, type: 'join', data: { room: 'a' } },
      { t: 'req', id: 1, type: 'join', data: { room: 'b' } },
    ]);
    fake.last.receive({ t: 'res', id: 1, ok: true, data: { members: ['bo'] } });
    fake.last.receive({ t: 'res', id: 0, ok: true, data: { members: ['al'] } });
    await expect(first).resolves.toEqual({ members: ['al'] });
    await expect(second).resolves.toEqual({ members: ['bo'] });
  });

  it('rejects with the server’s error', async () => {
    const { client, fake } = await connected();
    const reply = client.request('join', { room: 'secret' });
    fake.last.receive({ t: 'res', id: 0, ok: false, error: { code: 'forbidden', message: 'members only' } });
    const error = await reply.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestError);
    expect(error).toMatchObject({ code: 'remote', message: 'members only', remote: { code: 'forbidden', message: 'members only' } });
  });

  it('rejects on timeout and ignores a late reply', async () => {
    const { client, fake } = await connected({ heartbeatInterval: 0 });
    const reply = client.request('join', { room: 'a' }, { timeout: 2_000 });
    const outcome = reply.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await outcome).toMatchObject({ code: 'timeout' });
    fake.last.receive({ t: 'res', id: 0, ok: true, data: { members: [] } });
    expect(client.state).toBe('open');
  });

  it('uses the client’s default timeout', async () => {
    const { client } = await connected({ requestTimeout: 1_500, heartbeatInterval: 0 });
    const outcome = client.request('join', { room: 'a' }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_499);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toMatchObject({ code: 'timeout' });
  });

  it('rejects a request in flight when the connection drops', async () => {
    const { client, fake } = await connected();
    const outcome = client.request('join', { room: 'a' }).catch((e: unknown) => e);
    fake.last.drop();
    expect(await outcome).toMatchObject({ code: 'disconnected' });
  });

  it('re-sends an idempotent request after reconnecting, with the same id', async () => {
    const { client, fake, states } = await connected();
    const reply = client.request('join', { room: 'a' }, { idempotent: true });
    client.send('say', { text: 'queued meanwhile' });
    fake.last.drop();
    client.send('say', { text: 'after drop' });
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.open();
    expect(fake.last.frames()).toEqual([{ t: 'req', id: 0, type: 'join', data: { room: 'a' } }, say('after drop')]);
    fake.last.receive({ t: 'res', id: 0, ok: true, data: { members: ['al'] } });
    await expect(reply).resolves.toEqual({ members: ['al'] });
  });

  it('queues a request made while offline and sends it on open', async () => {
    const { client, fake } = await setup();
    const reply = client.request('leave', { room: 'a' });
    fake.last.open();
    expect(fake.last.frames()).toEqual([{ t: 'req', id: 0, type: 'leave', data: { room: 'a' } }]);
    fake.last.receive({ t: 'res', id: 0, ok: true });
    await expect(reply).resolves.toBeUndefined();
  });

  it('removes a queued request from the queue when it times out', async () => {
    const { client, fake } = await setup({ connectTimeout: 60_000 });
    const outcome = client.request('join', { room: 'a' }, { timeout: 1_000 }).catch((e: unknown) => e);
    client.send('say', { text: 'x' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await outcome).toMatchObject({ code: 'timeout' });
    fake.last.open();
    expect(fake.last.frames()).toEqual([say('x')]);
  });

  it('rejects a request the queue refuses, and reports the drop', async () => {
    const { client, drops } = await setup({ queueMaxCount: 0 });
    const outcome = await client.request('join', { room: 'a' }).catch((e: unknown) => e);
    expect(outcome).toMatchObject({ code: 'dropped' });
    expect(drops).toEqual([{ reason: 'queue-full', kind: 'request', type: 'join', data: { room: 'a' } }]);
  });

  it('rejects every pending request when the client closes', async () => {
    const { client, fake } = await connected();
    const inFlight = client.request('join', { room: 'a' }).catch((e: unknown) => e);
    fake.last.drop();
    const queued = client.request('join', { room: 'b' }, { idempotent: true }).catch((e: unknown) => e);
    client.close();
    expect(await inFlight).toMatchObject({ code: 'disconnected' });
    expect(await queued).toMatchObject({ code: 'closed' });
    expect(await client.request('join', { room: 'c' }).catch((e: unknown) => e)).toMatchObject({ code: 'closed' });
  });
});

describe('resume', () => {
  const stamped = (seq: number, text = `m${seq}`, topic = 'room:a') => ({ t: 'msg', type: 'said', data: { from: 'x', text }, topic, seq });

  it('sends the last seq per topic first on reconnect, drops duplicates, reports jumps', async () => {
    const { client, fake, states } = await connected();
    const seen: [string, number | undefined][] = [];
    const gaps: unknown[] = [];
    client.on('said', (data, meta) => seen.push([data.text, meta.seq]));
    client.onEvent('gap', (gap) => gaps.push(gap));
    fake.last.receive(stamped(1));
    fake.last.receive(stamped(2));
    fake.last.receive(stamped(7, 'b7', 'room:b'));
    fake.last.drop();
    client.send('say', { text: 'while away' });
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.open();
    expect(fake.last.frames()).toEqual([{ t: 'resume', streams: { 'room:a': 2, 'room:b': 7 } }, say('while away')]);
    // The replay overlaps what was already delivered.
    fake.last.receive(stamped(2));
    fake.last.receive(stamped(3));
    fake.last.receive(stamped(3));
    fake.last.receive(stamped(6));
    expect(seen).toEqual([
      ['m1', 1],
      ['m2', 2],
      ['b7', 7],
      ['m3', 3],
      ['m6', 6],
    ]);
    expect(gaps).toEqual([{ topic: 'room:a', from: 4, to: 5 }]);
  });

  it('follows the server’s gap and resync markers', async () => {
    const { client, fake, states } = await connected();
    const log: unknown[] = [];
    client.on('said', (data) => log.push(data.text));
    client.onEvent('gap', (gap) => log.push(gap));
    client.onEvent('resync', (resync) => log.push(resync));
    fake.last.receive(stamped(1));
    fake.last.receive({ t: 'gap', topic: 'room:a', from: 2, to: 4 });
    fake.last.receive(stamped(5));
    fake.last.receive(stamped(9, 'b9', 'room:b'));
    fake.last.receive({ t: 'resync', topic: 'room:b' });
    fake.last.receive(stamped(1, 'b1 after restart', 'room:b'));
    expect(log).toEqual(['m1', { topic: 'room:a', from: 2, to: 4 }, 'm5', 'b9', { topic: 'room:b' }, 'b1 after restart']);
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.open();
    expect(fake.last.frames()[0]).toEqual({ t: 'resume', streams: { 'room:a': 5, 'room:b': 1 } });
  });

  it('takes a skip as its own message accounted for: no event, no gap, and resume continues after it', async () => {
    const { client, fake, states } = await connected();
    const log: unknown[] = [];
    client.on('said', (data, meta) => log.push([data.text, meta.seq]));
    client.onEvent('gap', (gap) => log.push(gap));
    fake.last.receive(stamped(1));
    fake.last.receive({ t: 'skip', topic: 'room:a', seq: 2 });
    fake.last.receive(stamped(3));
    fake.last.receive({ t: 'skip', topic: 'room:a', seq: 4 });
    fake.last.receive({ t: 'skip', topic: 'room:a', seq: 5 });
    // The first frame of a topic may be a skip: it starts the topic's count like a message.
    fake.last.receive({ t: 'skip', topic: 'room:b', seq: 8 });
    fake.last.receive(stamped(9, 'b9', 'room:b'));
    expect(log).toEqual([
      ['m1', 1],
      ['m3', 3],
      ['b9', 9],
    ]);
    fake.last.receive({ t: 'skip', topic: 'room:a', seq: 6 });
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.open();
    expect(fake.last.frames()[0]).toEqual({ t: 'resume', streams: { 'room:a': 6, 'room:b': 9 } });
    fake.last.receive(stamped(7));
    expect(log.at(-1)).toEqual(['m7', 7]);
    expect(log.filter((entry) => !Array.isArray(entry))).toEqual([]);
  });

  it('ignores a skip it has already accounted for, and reports the gap before a skip that jumps ahead', async () => {
    const { client, fake } = await connected();
    const log: unknown[] = [];
    client.on('said', (data, meta) => log.push([data.text, meta.seq]));
    client.onEvent('gap', (gap) => log.push(gap));
    fake.last.receive(stamped(1));
    fake.last.receive(stamped(2));
    fake.last.receive({ t: 'skip', topic: 'room:a', seq: 2 });
    fake.last.receive({ t: 'skip', topic: 'room:a', seq: 1 });
    fake.last.receive(stamped(3));
    fake.last.receive({ t: 'skip', topic: 'room:a', seq: 6 });
    fake.last.receive({ t: 'skip', topic: 'room:a', seq: 6 });
    // A replayed message at or below a skip's seq is a duplicate too.
    fake.last.receive(stamped(6, 'own line replayed'));
    fake.last.receive(stamped(5, 'late'));
    fake.last.receive(stamped(7));
    expect(log).toEqual([
      ['m1', 1],
      ['m2', 2],
      ['m3', 3],
      { topic: 'room:a', from: 4, to: 5 },
      ['m7', 7],
    ]);
  });

  it('keeps a skip in its place behind a message whose validation is still running', async () => {
    const slow: StandardSchemaV1<unknown, { from: string; text: string }> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          return { value: value as { from: string; text: string } };
        },
      },
    };
    const { client, fake } = await connected({}, defineProtocol<Chat>({ server: { said: slow } }));
    const log: unknown[] = [];
    client.on('said', (data, meta) => log.push([data.text, meta.seq]));
    client.onEvent('gap', (gap) => log.push(gap));
    fake.last.receive(stamped(1));
    fake.last.receive({ t: 'skip', topic: 'room:a', seq: 2 });
    fake.last.receive({ t: 'skip', topic: 'room:a', seq: 5 });
    fake.last.receive(stamped(6));
    expect(log).toEqual([]);
    await vi.advanceTimersByTimeAsync(50);
    expect(log).toEqual([['m1', 1], { topic: 'room:a', from: 3, to: 4 }, ['m6', 6]]);
  });

  it('whatever mix of messages and skips arrives, a skip in its place is never reported as a gap, and every seq is accounted for once', async () => {
    const frame = fc.record({ skip: fc.boolean(), seq: fc.integer({ min: 1, max: 24 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 40 }), async (frames) => {
        const { client, fake } = await connected();
        const delivered: number[] = [];
        const gapped: number[] = [];
        client.on('said', (_data, meta) => delivered.push(meta.seq!));
        client.onEvent('gap', ({ from, to }) => {
          for (let seq = from; seq <= to; seq++) gapped.push(seq);
        });
        for (const { skip, seq } of frames) fake.last.receive(skip ? { t: 'skip', topic: 'room:a', seq } : stamped(seq));
        // A skip that arrives in its place (above everything before it) stands for a message;
        // one at or below an earlier seq is a duplicate, like a replayed message.
        let highest = 0;
        const skipped = new Set<number>();
        for (const { skip, seq } of frames) {
          if (skip && seq > highest) skipped.add(seq);
          highest = Math.max(highest, seq);
        }
        expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
        expect(new Set(delivered).size).toBe(delivered.length);
        for (const seq of gapped) expect(skipped.has(seq) || delivered.includes(seq)).toBe(false);
        // From the first seq to the highest, each is delivered, skipped or reported lost.
        const first = frames[0]!.seq;
        const last = Math.max(...frames.map((f) => f.seq));
        for (let seq = first; seq <= last; seq++) expect(delivered.includes(seq) || skipped.has(seq) || gapped.includes(seq)).toBe(true);
        client.close();
      }),
      { numRuns: 200 },
    );
  });

  it('sends no resume before any stamped message, or when resume is off', async () => {
    const first = await connected();
    first.fake.last.drop();
    await vi.advanceTimersByTimeAsync(first.states.at(-1)!.delay!);
    first.fake.last.open();
    expect(first.fake.last.sent).toEqual([]);

    const off = await connected({ resume: false });
    off.fake.last.receive(stamped(1));
    off.fake.last.receive(stamped(1));
    off.fake.last.drop();
    await vi.advanceTimersByTimeAsync(off.states.at(-1)!.delay!);
    off.fake.last.open();
    expect(off.fake.last.sent).toEqual([]);
  });
});

describe('incoming validation', () => {
  it('reports garbage and invalid envelopes without delivering them', async () => {
    const { client, fake, invalid } = await connected();
    const seen: unknown[] = [];
    client.on('said', (data) => seen.push(data));
    fake.last.receive('{not json');
    fake.last.receive('[1,2]');
    fake.last.receive({ t: 'msg', type: 'said', data: {}, topic: 'a' });
    fake.last.receive({ t: 'res', id: -1, ok: true });
    expect(seen).toEqual([]);
    expect(invalid.map((e) => e.kind)).toEqual(['undecodable', 'envelope', 'envelope', 'envelope']);
    expect(client.state).toBe('open');
  });

  it('delivers only payloads that pass a predicate', async () => {
    const isSaid = (data: unknown): data is Chat['server']['said'] =>
      typeof data === 'object' && data !== null && typeof (data as { text?: unknown }).text === 'string';
    const { client, fake, invalid } = await connected({}, defineProtocol<Chat>({ server: { said: isSaid } }));
    const seen: unknown[] = [];
    client.on('said', (data) => seen.push(data));
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 'ok' } });
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 42 } });
    expect(seen).toEqual([{ from: 'a', text: 'ok' }]);
    expect(invalid).toMatchObject([{ kind: 'payload', type: 'said', data: { from: 'a', text: 42 } }]);
  });

  it('accepts zod schemas (Standard Schema) and delivers their output', async () => {
    const said = z.object({ from: z.string(), text: z.string().trim() });
    const { client, fake, invalid } = await connected({}, defineProtocol<Chat>({ server: { said } }));
    const seen: unknown[] = [];
    client.on('said', (data) => seen.push(data));
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: '  padded  ', extra: true } });
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 1, text: 'x' } });
    expect(seen).toEqual([{ from: 'a', text: 'padded' }]);
    expect(invalid).toHaveLength(1);
    const issue = invalid[0]!;
    expect(issue.kind === 'payload' && issue.issues[0]?.path).toEqual(['from']);
  });

  it('accepts arktype types, which are callable, as schemas rather than predicates', async () => {
    const said = type({ from: 'string', text: 'string' });
    const { client, fake, invalid } = await connected({}, defineProtocol<Chat>({ server: { said } }));
    const seen: unknown[] = [];
    client.on('said', (data) => seen.push(data));
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 'ok' } });
    // Called as a predicate, arktype would return a (truthy) error list and let this through.
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 1 } });
    expect(seen).toEqual([{ from: 'a', text: 'ok' }]);
    expect(invalid).toMatchObject([{ kind: 'payload', type: 'said' }]);
  });

  it('accepts valibot schemas, for replies too', async () => {
    const members = v.object({ members: v.array(v.string()) });
    const { client, fake } = await connected({}, defineProtocol<Chat>({ replies: { join: members } }));
    const good = client.request('join', { room: 'a' });
    const bad = client.request('join', { room: 'b' }).catch((e: unknown) => e);
    fake.last.receive({ t: 'res', id: 0, ok: true, data: { members: ['al'] } });
    fake.last.receive({ t: 'res', id: 1, ok: true, data: { members: 'al' } });
    await expect(good).resolves.toEqual({ members: ['al'] });
    const error = await bad;
    expect(error).toMatchObject({ code: 'invalid-reply' });
    expect((error as RequestError).issues?.length).toBeGreaterThan(0);
  });

  it('keeps arrival order when a validator is asynchronous', async () => {
    const slowSaid: StandardSchemaV1<unknown, Chat['server']['said']> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          const text = (value as { text?: unknown }).text;
          return typeof text === 'string' ? { value: value as Chat['server']['said'] } : { issues: [{ message: 'text' }] };
        },
      },
    };
    const { client, fake, invalid } = await connected({}, defineProtocol<Chat>({ server: { said: slowSaid } }));
    const log: unknown[] = [];
    client.on('said', (data) => log.push(data.text));
    client.onEvent('resync', (r) => log.push(r.topic));
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 'first' } });
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 2 } });
    fake.last.receive({ t: 'resync', topic: 'third' });
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 'fourth' } });
    expect(log).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(log).toEqual(['first', 'third', 'fourth']);
    expect(invalid).toHaveLength(1);
  });

  it('treats a throwing validator as a rejection', async () => {
    const { client, fake, invalid } = await connected(
      {},
      defineProtocol<Chat>({
        server: {
          said: (): boolean => {
            throw new Error('validator bug');
          },
        },
      }),
    );
    const seen: unknown[] = [];
    client.on('said', (data) => seen.push(data));
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 'x' } });
    expect(seen).toEqual([]);
    expect(invalid).toHaveLength(1);
  });

  it('lets a listener unsubscribe', async () => {
    const { client, fake } = await connected();
    const seen: unknown[] = [];
    const off = client.on('said', (data) => seen.push(data.text));
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 'one' } });
    off();
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 'two' } });
    expect(seen).toEqual(['one']);
  });
});

describe('a binary serializer', () => {
  const msgpack: Serializer = {
    binary: true,
    encode: (frame) => encode(frame),
    decode: (data) => {
      if (typeof data === 'string') throw new TypeError('expected a binary frame');
      return decode(data);
    },
  };

  it('sends binary frames and reads binary replies (MessagePack)', async () => {
    const { client, fake } = await connected({ serializer: msgpack });
    const seen: unknown[] = [];
    client.on('said', (data) => seen.push(data));
    client.send('say', { text: 'hi' });
    const reply = client.request('join', { room: 'a' });
    expect(fake.last.sent.every((frame) => frame instanceof Uint8Array)).toBe(true);
    expect(fake.last.sent.map((frame) => decode(frame as Uint8Array))).toEqual([say('hi'), { t: 'req', id: 0, type: 'join', data: { room: 'a' } }]);
    const bytes = (value: unknown) => {
      const encoded = encode(value);
      return encoded.buffer.slice(encoded.byteOffset, encoded.byteOffset + encoded.byteLength) as ArrayBuffer;
    };
    fake.last.receive(bytes({ t: 'msg', type: 'said', data: { from: 'a', text: 'b' } }));
    fake.last.receive(bytes({ t: 'res', id: 0, ok: true, data: { members: ['al'] } }));
    expect(seen).toEqual([{ from: 'a', text: 'b' }]);
    await expect(reply).resolves.toEqual({ members: ['al'] });
  });

  it('counts queued binary payloads by their byte length', async () => {
    const one = encode(say('x')).byteLength;
    const { client } = await setup({ serializer: msgpack, queueMaxBytes: one * 2 });
    expect([client.send('say', { text: 'x' }), client.send('say', { text: 'x' }), client.send('say', { text: 'x' })]).toEqual([
      'queued',
      'queued',
      'dropped',
    ]);
  });
});

describe('stream positions', () => {
  const msg = (seq: number, epoch: string, id: string) => ({ t: 'msg', type: 'said', data: { from: 'x', text: `m${seq}` }, topic: 'room:a', seq, epoch, id });

  it('keeps the pos frame as its resume point before any message, then epoch and id of each message, and sends them on resume', async () => {
    const { client, fake, states } = await connected();
    fake.last.receive({ t: 'pos', topic: 'room:a', seq: 4, epoch: 'E1', id: 'i4' });
    expect(client.position('room:a')).toEqual({ seq: 4, epoch: 'E1', id: 'i4' });
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.open();
    expect(fake.last.frames()[0]).toEqual({ t: 'resume', streams: { 'room:a': 4 }, at: { 'room:a': { epoch: 'E1', id: 'i4' } } });
    fake.last.receive(msg(5, 'E1', 'i5'));
    expect(client.position('room:a')).toEqual({ seq: 5, epoch: 'E1', id: 'i5' });
  });

  it('a message of another epoch without a resync first is reported as a resync, never taken as continuous', async () => {
    const { client, fake } = await connected();
    const log: unknown[] = [];
    client.on('said', (data) => log.push(data.text));
    client.onEvent('resync', (event) => log.push(event));
    client.onEvent('gap', (event) => log.push(event));
    fake.last.receive(msg(50, 'E1', 'a'));
    fake.last.receive(msg(51, 'E2', 'b'));
    expect(log).toEqual(['m50', { topic: 'room:a' }, 'm51']);
    expect(client.position('room:a')).toEqual({ seq: 51, epoch: 'E2', id: 'b' });
  });

  it('resumeFrom sends a stored position at once when open, and again on reconnect', async () => {
    const { client, fake } = await connected();
    client.resumeFrom('room:a', { seq: 9, epoch: 'E1', id: 'i9' });
    expect(fake.last.frames()).toEqual([{ t: 'resume', streams: { 'room:a': 9 }, at: { 'room:a': { epoch: 'E1', id: 'i9' } } }]);
    expect(() => client.resumeFrom('room:a', { seq: -1 })).toThrow(RangeError);
  });
});
