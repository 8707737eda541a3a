import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/backoff.js';

describe('backoffDelay', () => {
  it('stays within [0, min(maxDelay, initialDelay · factor^(n-1))) for any draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.record({ initialDelay: fc.integer({ min: 1, max: 10_000 }), factor: fc.double({ min: 1, max: 4, noNaN: true }), maxDelay: fc.integer({ min: 1, max: 120_000 }) }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempts, options, draw) => {
          const bound = Math.min(options.maxDelay, options.initialDelay * options.factor ** Math.max(0, attempts - 1));
          const delay = backoffDelay(attempts, options, () => draw);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(bound);
          expect(delay).toBe(Math.floor(draw * bound));
        },
      ),
    );
  });

  it('spreads the first retry over the whole [0, initialDelay) window', () => {
    const options = { initialDelay: 1_000, factor: 2, maxDelay: 30_000 };
    const delays = Array.from({ length: 2_000 }, () => backoffDelay(0, options, Math.random));
    expect(Math.min(...delays)).toBeLessThan(50);
    expect(Math.max(...delays)).toBeGreaterThan(950);
    expect(Math.max(...delays)).toBeLessThan(1_000);
  });

  it('reaches the cap and stays there', () => {
    const options = { initialDelay: 100, factor: 2, maxDelay: 5_000 };
    expect([1, 2, 3, 6, 7, 50, 2_000].map((n) => backoffDelay(n, options, () => 0.999_999))).toEqual([99, 199, 399, 3_199, 4_999, 4_999, 4_999]);
  });
});
