// The input rules shared by page and server, the rate limiter, the origin check and the
// command line: small pure pieces, tested directly (properties with fast-check).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS, checkMessageId, checkRoom, checkText, checkUsername } from '../src/rules.js';
import { TokenBucket } from '../src/server/rate-limit.js';
import { isOriginAllowed } from '../src/server/origin.js';
import { parseConfig } from '../src/server/config.js';

describe('input rules', { timeout: 30_000 }, () => {
  it('an accepted room name is trimmed, lower-case, 1–32 of [a-z0-9-], starting with a letter or digit', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (raw) => {
        const verdict = checkRoom(raw);
        if (verdict.ok) expect(verdict.value).toMatch(/^[a-z0-9][a-z0-9-]{0,31}$/);
        else expect(verdict.error.length).toBeGreaterThan(0);
      }),
    );
    expect(checkRoom('  Book-Club ')).toEqual({ ok: true, value: 'book-club' });
    expect(checkRoom('-leading').ok).toBe(false);
    expect(checkRoom('<b>').ok).toBe(false);
  });

  it('an accepted username has no markup, spaces or controls and at most 24 characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (raw) => {
        const verdict = checkUsername(raw);
        if (!verdict.ok) return;
        expect([...verdict.value].length).toBeLessThanOrEqual(LIMITS.usernameMax);
        expect(verdict.value).not.toMatch(/[\s<>&"'`\p{Cc}]/u);
      }),
    );
    expect(checkUsername('Zoë_1.x').ok).toBe(true);
    expect(checkUsername('Zoe\u0308')).toEqual({ ok: true, value: 'Zoë' });
    expect(checkUsername('a b').ok).toBe(false);
  });

  it('accepted text is trimmed, non-empty, within the limit and free of controls other than tab and newline', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 1100 }), (raw) => {
        const verdict = checkText(raw);
        if (!verdict.ok) return;
        expect(verdict.value).toBe(verdict.value.trim());
        expect(verdict.value.length).toBeGreaterThan(0);
        expect([...verdict.value].length).toBeLessThanOrEqual(LIMITS.textMax);
        expect(verdict.value).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u);
      }),
    );
    expect(checkText('two\nlines').ok).toBe(true);
    expect(checkText('<img src=x onerror=alert(1)>')).toEqual({ ok: true, value: '<img src=x onerror=alert(1)>' });
    expect(checkText('x'.repeat(LIMITS.textMax)).ok).toBe(true);
    expect(checkText('x'.repeat(LIMITS.textMax + 1)).ok).toBe(false);
  });

  it('the largest valid say request fits within the maximum message size', () => {
    const widest = '\u{10FFFF}'.repeat(LIMITS.textMax); // 4 UTF-8 bytes per character
    const frame = JSON.stringify({ t: 'req', id: 2 ** 53 - 1, type: 'say', data: { room: 'r'.repeat(LIMITS.roomMax), id: 'i'.repeat(64), text: widest } });
    expect(new TextEncoder().encode(frame).byteLength).toBeLessThanOrEqual(LIMITS.maxMessageBytes);
  });

  it('message ids are 8–64 url-safe characters', () => {
    expect(checkMessageId('abcdefgh').ok).toBe(true);
    expect(checkMessageId('abc').ok).toBe(false);
    expect(checkMessageId('a'.repeat(65)).ok).toBe(false);
    expect(checkMessageId('abcdefg/').ok).toBe(false);
    expect(checkMessageId(12345678).ok).toBe(false);
  });
});

describe('token bucket', { timeout: 30_000 }, () => {
  const options = { burst: 3, perSecond: 2, maxStrikes: 4, strikeDecayPerSecond: 1 };

  it('allows the burst, refuses beyond it, refills at the sustained rate', () => {
    let now = 0;
    const bucket = new TokenBucket(options, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual(['allow', 'allow', 'allow', 'refuse']);
    now += 500; // one token back
    expect([bucket.take(), bucket.take()]).toEqual(['allow', 'refuse']);
    now += 10_000; // never more than the burst
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual(['allow', 'allow', 'allow', 'refuse']);
  });

  it('disconnects only sustained abuse', () => {
    let now = 0;
    const bucket = new TokenBucket(options, () => now);
    const decisions = Array.from({ length: 8 }, () => bucket.take());
    expect(decisions).toEqual(['allow', 'allow', 'allow', 'refuse', 'refuse', 'refuse', 'refuse', 'disconnect']);

    const patient = new TokenBucket(options, () => now);
    // A client that stays within the sustained rate is never disconnected, however long it runs.
    for (let i = 0; i < 1_000; i++) {
      now += 500;
      expect(patient.take()).toBe('allow');
    }
  });

  it('property: whatever the timing, the count allowed never exceeds burst + rate × time', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 200 }), (gaps) => {
        let now = 0;
        const bucket = new TokenBucket(options, () => now);
        let allowed = 0;
        for (const gap of gaps) {
          now += gap;
          if (bucket.take() === 'allow') allowed += 1;
        }
        expect(allowed).toBeLessThanOrEqual(options.burst + (now / 1000) * options.perSecond + 1e-9);
      }),
    );
  });
});

describe('origin check', { timeout: 30_000 }, () => {
  const policy = { allowed: ['https://chat.example.com'], enabled: true };
  it("allows the page's own origin, configured ones and non-browser clients", () => {
    expect(isOriginAllowed('http://localhost:3000', 'localhost:3000', policy)).toBe(true);
    expect(isOriginAllowed('http://LOCALHOST:3000', 'localhost:3000', policy)).toBe(true);
    expect(isOriginAllowed('https://chat.example.com', 'internal:3000', policy)).toBe(true);
    expect(isOriginAllowed(undefined, 'localhost:3000', policy)).toBe(true);
  });
  it('refuses every other origin', () => {
    expect(isOriginAllowed('http://localhost:3001', 'localhost:3000', policy)).toBe(false);
    expect(isOriginAllowed('http://evil.example', 'localhost:3000', policy)).toBe(false);
    expect(isOriginAllowed('null', 'localhost:3000', policy)).toBe(false);
    expect(isOriginAllowed('file://', 'localhost:3000', policy)).toBe(false);
    expect(isOriginAllowed('http://localhost:3000', undefined, policy)).toBe(false);
    expect(isOriginAllowed('http://evil.example', 'localhost:3000', { ...policy, enabled: false })).toBe(true);
  });
});

describe('command line', { timeout: 30_000 }, () => {
  it('reads flags over environment variables', () => {
    const parsed = parseConfig(['--port', '4000', '--allow-origin=https://a.example'], { PORT: '5000', REDIS_URL: 'redis://127.0.0.1:6380', ALLOWED_ORIGINS: 'https://b.example' });
    expect(parsed).toMatchObject({
      ok: true,
      config: { port: 4000, redisUrl: 'redis://127.0.0.1:6380', allowedOrigins: ['https://b.example', 'https://a.example'], checkOrigin: true },
    });
    expect(parseConfig([], { PORT: '5000' })).toMatchObject({ ok: true, config: { port: 5000, host: '127.0.0.1' } });
  });
  it('explains what is wrong', () => {
    expect(parseConfig(['--port', '70000'], {})).toMatchObject({ ok: false, error: expect.stringMatching(/--port needs a port number/) });
    expect(parseConfig(['--bogus'], {})).toMatchObject({ ok: false, error: 'unknown option "--bogus"' });
    expect(parseConfig([], { REDIS_URL: 'localhost:6379' })).toMatchObject({ ok: false, error: expect.stringMatching(/redis:\/\//) });
    expect(parseConfig([], { PORT: 'x' })).toMatchObject({ ok: false });
  });
});
