import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteLength, createQueue } from '../src/queue.js';

type Op = { kind: 'push'; text: string } | { kind: 'wait'; ms: number } | { kind: 'take' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('push' as const), text: fc.string({ maxLength: 40, unit: 'grapheme' }) }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 400 }) }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'take' as const }), weight: 1 },
);

describe('the offline queue', () => {
  it('keeps order, loses nothing below its bounds, and accounts for every item above them', () => {
    fc.assert(
      fc.property(
        fc.record({ maxCount: fc.integer({ min: 0, max: 20 }), maxBytes: fc.integer({ min: 0, max: 400 }), ttl: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 1_000 })) }),
        fc.array(op, { maxLength: 120 }),
        (limits, ops) => {
          const queue = createQueue<number>(limits);
          let now = 0;
          let serial = 0;
          const refused: number[] = [];
          const expired: number[] = [];
          const taken: number[] = [];
          const pushedAt = new Map<number, number>();
          for (const step of ops) {
            if (step.kind === 'push') {
              const id = serial++;
              pushedAt.set(id, now);
              const wouldFit = queue.size + 1 <= limits.maxCount && queue.bytes + byteLength(step.text) <= limits.maxBytes;
              const item = queue.push(step.text, id, now);
              // Refused exactly when a bound would be crossed.
              expect(item !== undefined).toBe(wouldFit);
              if (!item) refused.push(id);
            } else if (step.kind === 'wait') {
              now += step.ms;
              for (const item of queue.expire(now)) {
                expect(now - item.at).toBeGreaterThanOrEqual(limits.ttl);
                expired.push(item.meta);
              }
            } else {
              taken.push(...queue.takeAll().map((item) => item.meta));
            }
            expect(queue.size).toBeLessThanOrEqual(limits.maxCount);
            expect(queue.bytes).toBeLessThanOrEqual(limits.maxBytes);
          }
          const rest = queue.takeAll().map((item) => item.meta);
          const delivered = [...taken, ...rest];
          // Order: what comes out comes out in the order it went in.
          expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
          // Nothing lost silently: every item is delivered, refused or expired, exactly once.
          expect([...delivered, ...refused, ...expired].sort((a, b) => a - b)).toEqual([...Array(serial).keys()]);
          expect(queue.bytes).toBe(0);
        },
      ),
    );
  });

  it('frees space when an item is removed', () => {
    const queue = createQueue<string>({ maxCount: 2, maxBytes: 100, ttl: Infinity });
    const a = queue.push('a', 'a', 0)!;
    queue.push('b', 'b', 0);
    expect(queue.push('c', 'c', 0)).toBeUndefined();
    queue.remove(a);
    queue.remove(a);
    expect(queue.push('c', 'c', 0)).toBeDefined();
    expect(queue.takeAll().map((item) => item.meta)).toEqual(['b', 'c']);
  });

  it('names when the head expires', () => {
    const queue = createQueue<string>({ maxCount: 9, maxBytes: 100, ttl: 50 });
    expect(queue.nextExpiry()).toBeUndefined();
    queue.push('a', 'a', 10);
    queue.push('b', 'b', 20);
    expect(queue.nextExpiry()).toBe(60);
    expect(queue.expire(60).map((item) => item.meta)).toEqual(['a']);
    expect(queue.nextExpiry()).toBe(70);
  });

  it('counts text in UTF-8 bytes', () => {
    expect(byteLength('aé😀')).toBe(1 + 2 + 4);
    expect(byteLength(new Uint8Array(7))).toBe(7);
  });
});
