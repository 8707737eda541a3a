// The heartbeat sweep: one interval timer for all the connections it watches, running only
// while it watches any.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeartbeatMonitor, sweepPeriod } from '../src/heartbeat.js';

describe('sweepPeriod', () => {
  it('is half the shortest period in use, at least 5 ms, and 0 when nothing is watched', () => {
    expect(sweepPeriod({ heartbeatInterval: 30_000, heartbeatTimeout: 10_000, idleTimeout: 0 })).toBe(5_000);
    expect(sweepPeriod({ heartbeatInterval: 30_000, heartbeatTimeout: 10_000, idleTimeout: 4_000 })).toBe(2_000);
    // Without a heartbeat its timeout plays no part.
    expect(sweepPeriod({ heartbeatInterval: 0, heartbeatTimeout: 10_000, idleTimeout: 60_000 })).toBe(30_000);
    expect(sweepPeriod({ heartbeatInterval: 0, heartbeatTimeout: 10_000, idleTimeout: 0 })).toBe(0);
    expect(sweepPeriod({ heartbeatInterval: 4, heartbeatTimeout: 4, idleTimeout: 0 })).toBe(5);
  });
});

describe('HeartbeatMonitor', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('checks every target at every sweep with one timer, and stops when the last one leaves', () => {
    const checks: Array<[string, number]> = [];
    const monitor = new HeartbeatMonitor<string>(100, (target, now) => checks.push([target, now]));
    expect(vi.getTimerCount()).toBe(0);
    monitor.add('a');
    monitor.add('b');
    expect(vi.getTimerCount()).toBe(1);
    const start = Date.now();
    vi.advanceTimersByTime(250);
    expect(checks).toEqual([
      ['a', start + 100],
      ['b', start + 100],
      ['a', start + 200],
      ['b', start + 200],
    ]);
    monitor.delete('a');
    expect(vi.getTimerCount()).toBe(1);
    monitor.delete('b');
    expect(vi.getTimerCount()).toBe(0);
    monitor.add('c');
    vi.advanceTimersByTime(100);
    expect(checks.at(-1)?.[0]).toBe('c');
    monitor.delete('c');
  });

  it('lets a check remove its own target (a connection that closes) without skipping the others', () => {
    const seen: string[] = [];
    const monitor: HeartbeatMonitor<string> = new HeartbeatMonitor<string>(50, (target) => {
      seen.push(target);
      if (target !== 'stays') monitor.delete(target);
    });
    for (const target of ['first', 'stays', 'last']) monitor.add(target);
    vi.advanceTimersByTime(50);
    expect(seen).toEqual(['first', 'stays', 'last']);
    vi.advanceTimersByTime(50);
    expect(seen).toEqual(['first', 'stays', 'last', 'stays']);
    monitor.delete('stays');
    expect(vi.getTimerCount()).toBe(0);
  });
});
