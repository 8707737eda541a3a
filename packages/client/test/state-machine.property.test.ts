import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../src/client.js';
import type { RequestError } from '../src/errors.js';
import type { DropEvent, StateChange, StateReason } from '../src/types.js';
import { fakeWebSocket, settle } from './fake-socket.js';
import { chat } from './helpers.js';

type Step =
  | { kind: 'open' }
  | { kind: 'drop'; code: number }
  | { kind: 'pong' }
  | { kind: 'stamped'; seq: number }
  | { kind: 'online' }
  | { kind: 'offline' }
  | { kind: 'send' }
  | { kind: 'request'; idempotent: boolean }
  | { kind: 'close' }
  | { kind: 'connect' }
  | { kind: 'advance'; ms: number }
  | { kind: 'provider'; behaviour: 'ok' | 'throw' | 'hang' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'open' as const }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('drop' as const), code: fc.constantFrom(1000, 1001, 1006, 1011, 1012, 4000, 4001, 4404) }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'pong' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('stamped' as const), seq: fc.integer({ min: 1, max: 8 }) }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'online' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'offline' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'send' as const }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('request' as const), idempotent: fc.boolean() }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'close' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'connect' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('provider' as const), behaviour: fc.constantFrom('ok' as const, 'throw' as const, 'hang' as const) }), weight: 1 },
);

const settings = fc.record({
  maxAttempts: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 6 })),
  queueMaxCount: fc.integer({ min: 0, max: 8 }),
  queueTtl: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 30_000 })),
  seed: fc.integer(),
});

const CONNECT_TIMEOUT = 5_000;
const REQUEST_TIMEOUT = 20_000;
const MAX_DELAY = 8_000;
const FINAL_REASONS: StateReason[] = ['app-close', 'fatal-code', 'max-attempts'];

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the state machine never gets stuck', () => {
  it('from any sequence of socket events, network hints, app calls and time, it stays coherent and settles', async () => {
    await fc.assert(
      fc.asyncProperty(settings, fc.array(step, { maxLength: 40 }), async (config, steps) => {
        vi.clearAllTimers();
        const fake = fakeWebSocket();
        const window = new EventTarget();
        let behaviour: 'ok' | 'throw' | 'hang' = 'ok';
        let seed = config.seed;
        const random = () => {
          seed = (Math.imul(seed, 1_103_515_245) + 12_345) | 0;
          return ((seed >>> 8) & 0xffff) / 0x10000;
        };
        const client = createClient(chat, {
          url: () => {
            if (behaviour === 'throw') throw new Error('provider down');
            if (behaviour === 'hang') return new Promise<string>(() => {});
            return 'ws://switchyard.test/';
          },
          WebSocket: fake.WebSocket,
          window,
          random,
          connectTimeout: CONNECT_TIMEOUT,
          initialDelay: 500,
          maxDelay: MAX_DELAY,
          maxAttempts: config.maxAttempts,
          minOpenTime: 2_000,
          heartbeatInterval: 10_000,
          heartbeatTimeout: 3_000,
          fatalCloseCodes: [4404],
          queueMaxCount: config.queueMaxCount,
          queueTtl: config.queueTtl,
        });
        const changes: StateChange[] = [];
        const drops: DropEvent[] = [];
        const results = new Map<number, string>();
        const outcomes: (string | undefined)[] = [];
        let serial = 0;
        client.onEvent('state', (change) => changes.push(change));
        client.onEvent('drop', (drop) => drops.push(drop));

        const live = () => fake.sockets.filter((s) => s.onclose !== null);
        const checkCoherent = () => {
          const last = changes.at(-1);
          expect(client.state).toBe(last?.state ?? 'idle');
          changes.forEach((change, i) => expect(change.previous).toBe(changes[i - 1]?.state ?? 'idle'));
          // At most one socket is listened to, and only while connecting or open.
          expect(live().length).toBeLessThanOrEqual(client.state === 'connecting' || client.state === 'open' ? 1 : 0);
          if (client.state === 'open') expect(live()).toHaveLength(1);
          if (client.state === 'reconnecting') expect(last!.nextRetryAt).toBeGreaterThanOrEqual(Date.now());
          if (client.state === 'closed') expect(FINAL_REASONS).toContain(last!.reason);
        };

        await settle();
        for (const s of steps) {
          const socket = live()[0];
          switch (s.kind) {
            case 'open':
              if (socket && socket.readyState === 0) socket.open();
              break;
            case 'drop':
              if (socket) socket.drop(s.code);
              break;
            case 'pong':
              if (socket?.readyState === 1) socket.receive({ t: 'pong', ts: Date.now() });
              break;
            case 'stamped':
              if (socket?.readyState === 1) socket.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 'b' }, topic: 't', seq: s.seq });
              break;
            case 'online':
            case 'offline':
              window.dispatchEvent(new Event(s.kind));
              break;
            case 'send': {
              const id = serial++;
              results.set(id, client.send('say', { text: String(id) }));
              break;
            }
            case 'request': {
              const index = outcomes.push(undefined) - 1;
              client.request('join', { room: 'r' }, { idempotent: s.idempotent, timeout: REQUEST_TIMEOUT }).then(
                () => (outcomes[index] = 'resolved'),
                (error: RequestError) => (outcomes[index] = error.code),
              );
              break;
            }
            case 'close':
              client.close();
              break;
            case 'connect':
              client.connect();
              break;
            case 'advance':
              await vi.advanceTimersByTimeAsync(s.ms);
              break;
            case 'provider':
              behaviour = s.behaviour;
              break;
          }
          await settle();
          checkCoherent();
        }

        // The network heals and the server accepts: the client must end open, or closed for a final reason.
        behaviour = 'ok';
        for (let round = 0; round < 40 && client.state !== 'open' && client.state !== 'closed' && client.state !== 'idle'; round++) {
          const socket = live()[0];
          if (socket && socket.readyState === 0) socket.open();
          else await vi.advanceTimersByTimeAsync(MAX_DELAY + CONNECT_TIMEOUT);
          await settle();
          checkCoherent();
        }
        expect(['open', 'closed', 'idle']).toContain(client.state);
        if (client.state === 'idle') expect(changes).toEqual([]);

        // Every request settles by its timeout at the latest (the server here never replies).
        await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
        await settle();
        for (const outcome of outcomes) expect(['timeout', 'disconnected', 'dropped', 'closed']).toContain(outcome);

        // Delivery: every send went out once, in order, or was reported dropped.
        const delivered = fake.sockets.flatMap((s) =>
          s.frames().flatMap((frame) => {
            const f = frame as { t: string; type?: string; data?: { text: string } };
            return f.t === 'msg' && f.type === 'say' ? [Number(f.data!.text)] : [];
          }),
        );
        const reported = drops.filter((d) => d.kind === 'message').map((d) => Number((d.data as { text: string }).text));
        expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
        expect(new Set(delivered).size).toBe(delivered.length);
        for (const [id, result] of results) {
          const wasDelivered = delivered.includes(id);
          const wasReported = reported.includes(id);
          if (result === 'sent') expect(wasDelivered && !wasReported).toBe(true);
          if (result === 'dropped') expect(wasReported && !wasDelivered).toBe(true);
          if (result === 'queued') expect(wasDelivered !== wasReported).toBe(true);
        }
        client.close();
      }),
      { numRuns: 300 },
    );
  });
});
