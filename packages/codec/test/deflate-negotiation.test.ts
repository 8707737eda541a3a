import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  acceptDeflateOffer,
  formatDeflateOffer,
  formatDeflateParams,
  formatExtensionHeader,
  HandshakeError,
  negotiateDeflate,
  parseDeflateOffer,
  parseExtensionHeader,
  validateDeflateResponse,
  type DeflateClientOptions,
  type DeflateParams,
  type DeflateServerOptions,
  type ExtensionOffer,
} from '../src/index.js';

function offers(header: string): ExtensionOffer[] {
  const parsed = parseExtensionHeader(header);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.offers;
}

function negotiate(header: string, options: DeflateServerOptions = {}) {
  return negotiateDeflate(offers(header), options);
}

function accepted(header: string, options: DeflateServerOptions = {}): { params: DeflateParams; extension: string } {
  const result = negotiate(header, options);
  if (!result.ok) throw new Error(result.reasons.join('; '));
  return result;
}

const DEFAULTS: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

describe('parseExtensionHeader', () => {
  it('reads several extensions with parameters, in order', () => {
    expect(offers('permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate, x-foo')).toEqual([
      { name: 'permessage-deflate', params: [['client_max_window_bits', true], ['server_max_window_bits', '10']] },
      { name: 'permessage-deflate', params: [] },
      { name: 'x-foo', params: [] },
    ]);
  });

  it('allows optional whitespace around every separator', () => {
    expect(offers(' permessage-deflate \t;\tserver_max_window_bits = 10 ; client_no_context_takeover ,x ')).toEqual([
      { name: 'permessage-deflate', params: [['server_max_window_bits', '10'], ['client_no_context_takeover', true]] },
      { name: 'x', params: [] },
    ]);
  });

  it('unquotes quoted parameter values (RFC 6455 §9.1)', () => {
    expect(offers('permessage-deflate; server_max_window_bits="10"; x="a\\b"')[0]!.params).toEqual([
      ['server_max_window_bits', '10'],
      ['x', 'ab'],
    ]);
  });

  it('ignores empty list elements', () => {
    expect(offers(', ,permessage-deflate,,')).toEqual([{ name: 'permessage-deflate', params: [] }]);
    expect(offers('')).toEqual([]);
  });

  it('refuses malformed headers with a reason', () => {
    for (const bad of ['permessage-deflate;', 'permessage-deflate; =1', 'permessage-deflate; a=', 'a b', 'a; b="1 2"', 'a; b="1', '"a"', 'a; b=1 c', 'a;b=(']) {
      const parsed = parseExtensionHeader(bad);
      expect(parsed.ok, bad).toBe(false);
      if (!parsed.ok) expect(parsed.reason).toMatch(/at offset \d+/);
    }
  });

  it('round-trips formatting then parsing for any extension list (property)', () => {
    const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
    const element = fc.record({ name: token, params: fc.array(fc.tuple(token, fc.oneof(fc.constant(true as const), token)), { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.array(element, { maxLength: 5 }), (list) => {
        expect(offers(formatExtensionHeader(list))).toEqual(list);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on any string (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80, unit: fc.constantFrom(...'ab;,= \t"\\x1'.split('')) }), (header) => {
        parseExtensionHeader(header);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseDeflateOffer', () => {
  it('reads every parameter, with and without values', () => {
    expect(parseDeflateOffer(offers('permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits')[0]!)).toEqual({
      ok: true,
      offer: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: true },
    });
    expect(parseDeflateOffer(offers('permessage-deflate; client_max_window_bits=8')[0]!)).toEqual({ ok: true, offer: { clientMaxWindowBits: 8 } });
  });

  it('matches parameter names case-insensitively', () => {
    expect(parseDeflateOffer(offers('permessage-deflate; Server_No_Context_Takeover')[0]!)).toEqual({ ok: true, offer: { serverNoContextTakeover: true } });
  });

  const declines = (name: string, header: string, reason: RegExp) =>
    it(name, () => {
      const parsed = parseDeflateOffer(offers(header)[0]!);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.reason).toMatch(reason);
    });

  declines('declines a duplicated parameter', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover', /duplicate/);
  declines('declines a parameter repeated in another case', 'permessage-deflate; client_max_window_bits; CLIENT_MAX_WINDOW_BITS=10', /duplicate/);
  declines('declines an unknown parameter', 'permessage-deflate; foo', /unknown/);
  declines('declines server_no_context_takeover with a value', 'permessage-deflate; server_no_context_takeover=1', /takes no value/);
  declines('declines client_no_context_takeover with a value', 'permessage-deflate; client_no_context_takeover=true', /takes no value/);
  declines('declines server_max_window_bits without a value', 'permessage-deflate; server_max_window_bits', /8 to 15/);
  declines('declines server_max_window_bits=7', 'permessage-deflate; server_max_window_bits=7', /8 to 15/);
  declines('declines server_max_window_bits=16', 'permessage-deflate; server_max_window_bits=16', /8 to 15/);
  declines('declines a window with a leading zero', 'permessage-deflate; server_max_window_bits=010', /8 to 15/);
  declines('declines a window with a sign', 'permessage-deflate; client_max_window_bits=+9', /8 to 15/);
  declines('declines a window that is not a number', 'permessage-deflate; server_max_window_bits=abc', /8 to 15/);
  declines('declines client_max_window_bits=16', 'permessage-deflate; client_max_window_bits=16', /8 to 15/);
});

describe('negotiateDeflate (server)', () => {
  it('accepts a bare offer with the RFC defaults and answers "permessage-deflate"', () => {
    expect(accepted('permessage-deflate')).toEqual({ ok: true, params: DEFAULTS, extension: 'permessage-deflate' });
  });

  it('honours server_no_context_takeover from the offer and answers it', () => {
    expect(accepted('permessage-deflate; server_no_context_takeover')).toMatchObject({
      params: { ...DEFAULTS, serverNoContextTakeover: true },
      extension: 'permessage-deflate; server_no_context_takeover',
    });
  });

  it('adds server_no_context_takeover when the server wants it', () => {
    expect(accepted('permessage-deflate', { serverNoContextTakeover: true }).extension).toBe('permessage-deflate; server_no_context_takeover');
  });

  it('asks for client_no_context_takeover when the server wants it, offered or not', () => {
    expect(accepted('permessage-deflate', { clientNoContextTakeover: true }).extension).toBe('permessage-deflate; client_no_context_takeover');
  });

  it('echoes the client_no_context_takeover the client offered', () => {
    expect(accepted('permessage-deflate; client_no_context_takeover').params.clientNoContextTakeover).toBe(true);
  });

  it('uses the server_max_window_bits the offer asks for and answers it', () => {
    expect(accepted('permessage-deflate; server_max_window_bits=10')).toMatchObject({
      params: { ...DEFAULTS, serverMaxWindowBits: 10 },
      extension: 'permessage-deflate; server_max_window_bits=10',
    });
  });

  it('answers server_max_window_bits=15 when the offer carries it, even at the default', () => {
    expect(accepted('permessage-deflate; server_max_window_bits=15').extension).toBe('permessage-deflate; server_max_window_bits=15');
  });

  it('uses the smaller of the offered and configured server windows', () => {
    expect(accepted('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }).params.serverMaxWindowBits).toBe(10);
    expect(accepted('permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 12 }).params.serverMaxWindowBits).toBe(10);
    expect(accepted('permessage-deflate', { serverMaxWindowBits: 11 })).toMatchObject({
      params: { serverMaxWindowBits: 11 },
      extension: 'permessage-deflate; server_max_window_bits=11',
    });
  });

  it('declines server_max_window_bits=8, which zlib cannot compress with, and says why', () => {
    const result = negotiate('permessage-deflate; server_max_window_bits=8');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reasons[0]).toMatch(/server_max_window_bits=8 cannot be honoured/);
  });

  it('asks a client that announced client_max_window_bits for the configured window', () => {
    expect(accepted('permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 10 })).toMatchObject({
      params: { clientMaxWindowBits: 10 },
      extension: 'permessage-deflate; client_max_window_bits=10',
    });
  });

  it('leaves client_max_window_bits out when the client did not announce it, keeping the window at 15', () => {
    expect(accepted('permessage-deflate', { clientMaxWindowBits: 10 })).toEqual({ ok: true, params: DEFAULTS, extension: 'permessage-deflate' });
  });

  it('answers client_max_window_bits without a value with nothing when the server has no preference', () => {
    expect(accepted('permessage-deflate; client_max_window_bits').extension).toBe('permessage-deflate');
  });

  it('inflates with the smaller window a client promised in client_max_window_bits=N', () => {
    expect(accepted('permessage-deflate; client_max_window_bits=11').params.clientMaxWindowBits).toBe(11);
    expect(accepted('permessage-deflate; client_max_window_bits=11', { clientMaxWindowBits: 10 }).params.clientMaxWindowBits).toBe(10);
  });

  it('never answers a client window larger than the client offered', () => {
    expect(accepted('permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: 12 })).toMatchObject({
      params: { clientMaxWindowBits: 10 },
      extension: 'permessage-deflate; client_max_window_bits=10',
    });
  });

  it('leaves client_max_window_bits out for an offer of 8 and inflates with 15', () => {
    expect(accepted('permessage-deflate; client_max_window_bits=8', { clientMaxWindowBits: 10 })).toEqual({ ok: true, params: DEFAULTS, extension: 'permessage-deflate' });
  });

  it('takes the first acceptable offer in the client’s order', () => {
    expect(accepted('permessage-deflate; server_max_window_bits=10, permessage-deflate').params.serverMaxWindowBits).toBe(10);
  });

  it('skips a malformed or unacceptable offer and takes the next one', () => {
    expect(accepted('permessage-deflate; foo, permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=12').params.serverMaxWindowBits).toBe(12);
  });

  it('ignores other extensions', () => {
    expect(accepted('x-webkit-deflate-frame, permessage-deflate').extension).toBe('permessage-deflate');
  });

  it('declines when no offer is acceptable, with one reason per offer', () => {
    const result = negotiate('permessage-deflate; foo, permessage-deflate; server_max_window_bits=7');
    expect(result).toEqual({ ok: false, reasons: ['unknown parameter foo', 'server_max_window_bits needs a value from 8 to 15'] });
    expect(negotiate('x-other')).toEqual({ ok: false, reasons: ['permessage-deflate was not offered'] });
  });

  it('throws a HandshakeError for options outside 9..15 or of the wrong type', () => {
    expect(() => negotiate('permessage-deflate', { serverMaxWindowBits: 8 })).toThrow(HandshakeError);
    expect(() => negotiate('permessage-deflate', { clientMaxWindowBits: 16 })).toThrow(HandshakeError);
    expect(() => negotiate('permessage-deflate', { serverMaxWindowBits: 10.5 })).toThrow(HandshakeError);
    expect(() => negotiate('permessage-deflate', { serverNoContextTakeover: 'yes' as unknown as boolean })).toThrow(HandshakeError);
  });
});

describe('validateDeflateResponse (client)', () => {
  const check = (response: string, offered: DeflateClientOptions | undefined) => validateDeflateResponse(offers(response), offered);
  const fails = (name: string, response: string, offered: DeflateClientOptions | undefined, reason: RegExp) =>
    it(name, () => {
      const result = check(response, offered);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(reason);
    });

  it('reports no deflate when the server answered no extension', () => {
    expect(check('', { clientMaxWindowBits: true })).toEqual({ ok: true, params: undefined });
  });

  it('reads the parameters the server chose', () => {
    expect(check('permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9', { clientMaxWindowBits: true })).toEqual({
      ok: true,
      params: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    });
  });

  it('keeps the client window the client promised when the server allows a larger one', () => {
    expect(check('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 10 })).toMatchObject({ params: { clientMaxWindowBits: 10 } });
  });

  it('keeps the client_no_context_takeover the client offered even if the server leaves it out', () => {
    expect(check('permessage-deflate', { clientNoContextTakeover: true })).toMatchObject({ params: { clientNoContextTakeover: true } });
  });

  it('accepts server_max_window_bits=8 (inflating with a larger window is safe)', () => {
    expect(check('permessage-deflate; server_max_window_bits=8', {})).toMatchObject({ params: { serverMaxWindowBits: 8 } });
  });

  fails('fails deflate when it was not offered', 'permessage-deflate', undefined, /not offered/);
  fails('fails an unknown extension', 'x-foo', {}, /x-foo/);
  fails('fails two extensions', 'permessage-deflate, permessage-deflate', {}, /more than one/);
  fails('fails an unknown parameter', 'permessage-deflate; foo', {}, /unknown parameter/);
  fails('fails a duplicated parameter', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover', {}, /duplicate/);
  fails('fails client_max_window_bits without a value', 'permessage-deflate; client_max_window_bits', { clientMaxWindowBits: true }, /needs a value/);
  fails('fails client_max_window_bits the client did not offer', 'permessage-deflate; client_max_window_bits=10', {}, /did not offer/);
  fails('fails client_max_window_bits=8, which zlib cannot compress with', 'permessage-deflate; client_max_window_bits=8', { clientMaxWindowBits: true }, /cannot be honoured/);
  fails('fails a server window larger than the offered one', 'permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 }, /exceeds/);
  fails('fails a response that ignores the offered server_max_window_bits', 'permessage-deflate', { serverMaxWindowBits: 10 }, /did not answer/);
  fails('fails a response that ignores the offered server_no_context_takeover', 'permessage-deflate', { serverNoContextTakeover: true }, /server_no_context_takeover/);
});

describe('negotiation laws', () => {
  const windowOnWire = fc.integer({ min: 8, max: 15 });
  const window = fc.integer({ min: 9, max: 15 });
  const wireOffer = fc.record(
    {
      serverNoContextTakeover: fc.constant(true),
      clientNoContextTakeover: fc.constant(true),
      serverMaxWindowBits: windowOnWire,
      clientMaxWindowBits: fc.oneof(fc.constant(true as const), windowOnWire),
    },
    { requiredKeys: [] },
  );
  const clientOptions = fc.record(
    {
      serverNoContextTakeover: fc.boolean(),
      clientNoContextTakeover: fc.boolean(),
      serverMaxWindowBits: window,
      clientMaxWindowBits: fc.oneof(fc.constant(true as const), window),
    },
    { requiredKeys: [] },
  );
  const serverOptions = fc.record(
    { serverNoContextTakeover: fc.boolean(), clientNoContextTakeover: fc.boolean(), serverMaxWindowBits: window, clientMaxWindowBits: window },
    { requiredKeys: [] },
  );

  it('negotiated parameters always satisfy the offer and the server options (property)', () => {
    fc.assert(
      fc.property(wireOffer, serverOptions, (offer, options) => {
        const result = acceptDeflateOffer(offer, options);
        if (!result.ok) {
          expect(offer.serverMaxWindowBits).toBe(8);
          return;
        }
        const { params } = result;
        for (const bits of [params.serverMaxWindowBits, params.clientMaxWindowBits]) {
          expect(bits).toBeGreaterThanOrEqual(9);
          expect(bits).toBeLessThanOrEqual(15);
        }
        expect(params.serverMaxWindowBits).toBeLessThanOrEqual(offer.serverMaxWindowBits ?? 15);
        expect(params.serverMaxWindowBits).toBeLessThanOrEqual(options.serverMaxWindowBits ?? 15);
        if (offer.serverNoContextTakeover || options.serverNoContextTakeover) expect(params.serverNoContextTakeover).toBe(true);
        if (options.clientNoContextTakeover) expect(params.clientNoContextTakeover).toBe(true);
        if (offer.clientMaxWindowBits === undefined) {
          expect(params.clientMaxWindowBits).toBe(15);
          expect(result.extension).not.toContain('client_max_window_bits');
        } else if (offer.clientMaxWindowBits === 8) {
          expect(params.clientMaxWindowBits).toBe(15);
          expect(result.extension).not.toContain('client_max_window_bits');
        } else {
          expect(params.clientMaxWindowBits).toBeLessThanOrEqual(options.clientMaxWindowBits ?? 15);
          if (typeof offer.clientMaxWindowBits === 'number') expect(params.clientMaxWindowBits).toBeLessThanOrEqual(offer.clientMaxWindowBits);
        }
        if (offer.serverMaxWindowBits !== undefined) expect(result.extension).toContain(`server_max_window_bits=${params.serverMaxWindowBits}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('a client accepts whatever the server negotiates for its offer, and both agree on the parameters (property)', () => {
    fc.assert(
      fc.property(clientOptions, serverOptions, (client, server) => {
        const negotiation = negotiateDeflate(offers(formatDeflateOffer(client)), server);
        if (!negotiation.ok) throw new Error(negotiation.reasons.join('; '));
        const checked = validateDeflateResponse(offers(negotiation.extension), client);
        if (!checked.ok) throw new Error(checked.reason);
        expect(checked.params).toEqual(negotiation.params);
      }),
      { numRuns: 2000 },
    );
  });

  it('formatting an offer then parsing it gives the options back (property)', () => {
    fc.assert(
      fc.property(clientOptions, (client) => {
        const parsed = parseDeflateOffer(offers(formatDeflateOffer(client))[0]!);
        const expected = Object.fromEntries(Object.entries(client).filter(([, v]) => v !== false));
        expect(parsed).toEqual({ ok: true, offer: expected });
      }),
      { numRuns: 500 },
    );
  });

  it('formatting agreed parameters then validating them as a response gives them back (property)', () => {
    const params = fc.record({
      serverNoContextTakeover: fc.boolean(),
      clientNoContextTakeover: fc.boolean(),
      serverMaxWindowBits: windowOnWire,
      clientMaxWindowBits: window,
    });
    fc.assert(
      fc.property(params, (agreed) => {
        const checked = validateDeflateResponse(offers(formatDeflateParams(agreed, 'response')), { clientMaxWindowBits: true });
        expect(checked).toEqual({ ok: true, params: agreed });
      }),
      { numRuns: 500 },
    );
  });

  it('throws a HandshakeError when asked to offer a window outside 9..15', () => {
    expect(() => formatDeflateOffer({ clientMaxWindowBits: 8 })).toThrow(HandshakeError);
    expect(() => formatDeflateOffer({ serverMaxWindowBits: 16 })).toThrow(HandshakeError);
  });
});
