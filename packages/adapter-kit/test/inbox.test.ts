import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Inbox } from '../src/inbox.js';

describe('Inbox', () => {
  it('delivers every item in order and pauses exactly while `limit` or more wait', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.array(fc.boolean(), { maxLength: 100 }), async (limit, script) => {
        let paused = false;
        const inbox = new Inbox<number>(limit, () => { expect(paused).toBe(false); paused = true; }, () => { expect(paused).toBe(true); paused = false; });
        const received: number[] = [];
        let pushed = 0;
        for (const push of script) {
          if (push) inbox.push(pushed++);
          else if (inbox.size > 0) received.push((await inbox.next()).value as number);
          expect(paused).toBe(inbox.size >= limit || (paused && inbox.size > 0));
        }
        inbox.end();
        for (;;) {
          const next = await inbox.next();
          if (next.done) break;
          received.push(next.value);
        }
        expect(received).toEqual(Array.from({ length: pushed }, (_, i) => i));
        expect(paused).toBe(false);
      }),
    );
  });

  it('hands an item straight to a waiting consumer', async () => {
    const inbox = new Inbox<string>(1, () => { throw new Error('must not pause'); }, () => undefined);
    const next = inbox.next();
    inbox.push('a');
    expect(await next).toEqual({ done: false, value: 'a' });
  });

  it('ends a waiting consumer', async () => {
    const inbox = new Inbox<string>(4, () => undefined, () => undefined);
    const next = inbox.next();
    inbox.end();
    expect(await next).toEqual({ done: true, value: undefined });
  });
});
