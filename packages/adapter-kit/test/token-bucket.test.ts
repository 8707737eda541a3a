import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../src/token-bucket.js';

describe('TokenBucket', () => {
  it('never lets more than burst + rate × elapsed messages through', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }),
        (rate, burst, gaps) => {
          let now = 0;
          const bucket = new TokenBucket({ messagesPerSecond: rate, burst }, () => now);
          let allowed = 0;
          for (const gap of gaps) {
            now += gap;
            if (bucket.take()) allowed += 1;
          }
          expect(allowed).toBeLessThanOrEqual(burst + (rate * now) / 1000 + 1e-9);
        },
      ),
    );
  });

  it('allows a full burst at once, then refuses until tokens refill', () => {
    let now = 0;
    const bucket = new TokenBucket({ messagesPerSecond: 10, burst: 3 }, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    now += 100; // one token per 100 ms at 10/s
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
  });

  it('refuses a non-positive rate', () => {
    expect(() => new TokenBucket({ messagesPerSecond: 0 })).toThrow(RangeError);
  });
});
