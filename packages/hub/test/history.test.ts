import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BrokerEntry } from '../src/broker.js';
import { classifyRead, retainedSuffix, TopicHistory } from '../src/history.js';

const entry = (seq: number, publishedAt = 0): BrokerEntry => ({
  topic: 't',
  seq,
  type: 'e',
  data: String(seq),
  publishedAt,
  except: undefined,
});

describe('classifyRead', () => {
  it('returns exactly the missing range when it is retained, a truncation when not, unknown past the head', () => {
    fc.assert(
      fc.property(fc.nat(200), fc.nat(200), fc.nat(220), (head, keep, after) => {
        const oldest = Math.max(1, head - keep + 1);
        const retained = Array.from({ length: Math.max(0, head - oldest + 1) }, (_, i) => entry(oldest + i));
        const read = classifyRead(after, head, retained);
        if (after > head) {
          expect(read.kind).toBe('unknown');
          return;
        }
        const expected = retained.filter((e) => e.seq > after).map((e) => e.seq);
        if (after === head || after + 1 >= oldest) {
          expect(read.kind).toBe('complete');
          if (read.kind === 'complete') {
            expect(read.entries.map((e) => e.seq)).toEqual(expected);
            expect(read.entries.map((e) => e.seq)).toEqual(Array.from({ length: head - after }, (_, i) => after + 1 + i));
          }
        } else {
          expect(read).toMatchObject({ kind: 'truncated', from: after + 1, to: (expected[0] ?? head + 1) - 1 });
          if (read.kind === 'truncated') expect(read.entries.map((e) => e.seq)).toEqual(expected);
        }
      }),
    );
  });
});

describe('retainedSuffix', () => {
  it('keeps a suffix: an old entry hides everything before it, so no hole appears', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 40 }), fc.integer({ min: 0, max: 100 }), (times, cutoff) => {
        const entries = times.map((t, i) => entry(i + 1, t));
        const kept = retainedSuffix(entries, cutoff + 10, 10);
        expect(kept).toEqual(entries.slice(entries.length - kept.length));
        expect(kept.every((e) => e.publishedAt >= cutoff)).toBe(true);
        const before = entries[entries.length - kept.length - 1];
        if (before) expect(before.publishedAt).toBeLessThan(cutoff);
      }),
    );
  });
});

describe('TopicHistory', () => {
  it('never replays more than maxCount entries nor keeps more than 1.5 × maxCount + 32', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 300 }), (maxCount, published) => {
        const history = new TopicHistory({ maxCount, maxAgeMs: 1e9 });
        for (let seq = 1; seq <= published; seq++) {
          history.append(entry(history.nextSeq(0)), 0);
          expect(history.size).toBeLessThanOrEqual(maxCount + Math.max(32, maxCount >> 1));
        }
        expect(history.head).toBe(published);
        const read = history.readAfter(0, 0);
        const oldest = Math.max(1, published - maxCount + 1);
        if (published === 0 || oldest === 1) expect(read.kind).toBe('complete');
        else expect(read).toMatchObject({ kind: 'truncated', from: 1, to: oldest - 1 });
        if (read.kind !== 'unknown') expect(read.entries.length).toBe(Math.min(published, maxCount));
      }),
    );
  });

  it('judges age by the clock it is given: an entry older than maxAgeMs is not replayed', () => {
    const history = new TopicHistory({ maxCount: 100, maxAgeMs: 10 * 60_000 });
    history.append(entry(1, 0), 0);
    history.append(entry(2, 5 * 60_000), 5 * 60_000);
    expect(history.readAfter(0, 9 * 60_000)).toMatchObject({ kind: 'complete' });
    expect(history.readAfter(0, 12 * 60_000)).toMatchObject({ kind: 'truncated', from: 1, to: 1 });
    expect(history.readAfter(1, 12 * 60_000)).toMatchObject({ kind: 'complete', entries: [{ seq: 2 }] });
    expect(history.readAfter(0, 2 * 3600_000)).toMatchObject({ kind: 'truncated', from: 1, to: 2, entries: [] });
  });

  it('continues numbering above a raised floor', () => {
    const history = new TopicHistory({ maxCount: 10, maxAgeMs: 1000 });
    history.raiseFloor(41);
    expect(history.nextSeq(0)).toBe(42);
    expect(history.nextSeq(50)).toBe(51);
    expect(history.readAfter(41, 0)).toMatchObject({ kind: 'complete', entries: [] });
    expect(history.readAfter(40, 0)).toMatchObject({ kind: 'truncated', from: 41, to: 41 });
  });
});
