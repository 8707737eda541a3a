import { describe, expect, it } from 'vitest';
import { DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_PAYLOAD, defaultMaxFragments, resolveConnectionOptions } from '../src/options.js';

describe('resolveConnectionOptions', () => {
  it('fills in the defaults, which differ by side only where the WHATWG client API leaves no choice', () => {
    const server = resolveConnectionOptions({}, 'server');
    const client = resolveConnectionOptions({}, 'client');
    expect(server).toEqual({
      maxPayload: DEFAULT_MAX_PAYLOAD,
      maxFragments: defaultMaxFragments(DEFAULT_MAX_PAYLOAD),
      closeTimeout: 10_000,
      highWaterMark: DEFAULT_HIGH_WATER_MARK,
      highWaterPolicy: 'close-1013',
      maxBufferedAmount: DEFAULT_HIGH_WATER_MARK * 4,
      maxQueuedMessages: 16,
      rateLimit: undefined,
      heartbeatInterval: 30_000,
      heartbeatTimeout: 10_000,
      idleTimeout: 0,
      writeStallTimeout: 60_000,
    });
    expect(client).toEqual({ ...server, highWaterPolicy: 'queue', heartbeatInterval: 0 });
  });

  it('scales the fragment limit and the buffer cap with the options they derive from', () => {
    const resolved = resolveConnectionOptions({ maxPayload: 64 * 1024 * 1024, highWaterMark: 1000 }, 'server');
    expect(resolved.maxFragments).toBe(1024 * 1024);
    expect(resolved.maxBufferedAmount).toBe(4000);
    expect(defaultMaxFragments(0)).toBe(1024);
  });

  it('refuses negative and NaN numbers by name, and keeps at least one queued message', () => {
    expect(() => resolveConnectionOptions({ maxPayload: -1 }, 'server')).toThrow(/maxPayload/);
    expect(() => resolveConnectionOptions({ closeTimeout: Number.NaN }, 'client')).toThrow(/closeTimeout/);
    expect(() => resolveConnectionOptions({ idleTimeout: -5 }, 'server')).toThrow(RangeError);
    expect(resolveConnectionOptions({ maxQueuedMessages: 0 }, 'server').maxQueuedMessages).toBe(1);
  });
});
