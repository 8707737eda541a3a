/**
 * permessage-deflate (RFC 7692): the `Sec-WebSocket-Extensions` grammar (RFC 6455 §9.1) and the
 * negotiation of the extension's four parameters, for both ends. The compression itself is the
 * adapter's `Compressor`; this module only decides which windows and context rules apply.
 *
 * One choice goes beyond the RFC: a window of 8 bits (256 bytes) is valid on the wire, but zlib
 * cannot produce raw deflate data with it — it silently uses 9 bits (512 bytes), whose
 * back-references an inflater honouring the negotiated 8 bits may reject. So this codec never
 * agrees to compress with an 8-bit window: a server declines an offer that demands
 * `server_max_window_bits=8`, never asks a client for `client_max_window_bits` below 9, and a
 * client fails a response that asks it for 8. Inflating with 8 (a peer that promises to
 * compress with 256 bytes) is always fine: a larger inflate window than negotiated is safe.
 */

import { HandshakeError } from '../handshake/errors.js';

/** The agreed parameters of one connection. */
export interface DeflateParams {
  /** The server resets its compression context after each message. */
  readonly serverNoContextTakeover: boolean;
  /** The client resets its compression context after each message. */
  readonly clientNoContextTakeover: boolean;
  /** log2 of the server's LZ77 window (8..15): the server compresses, the client inflates with it. */
  readonly serverMaxWindowBits: number;
  /** log2 of the client's LZ77 window (8..15): the client compresses, the server inflates with it. */
  readonly clientMaxWindowBits: number;
}

/** What a server wants; every field is optional and defaults to the RFC's defaults. */
export interface DeflateServerOptions {
  /** Always reset the server's context per message (an offer may also ask for it). */
  readonly serverNoContextTakeover?: boolean;
  /** Ask the client to reset its context per message (saves the server's inflate memory). */
  readonly clientNoContextTakeover?: boolean;
  /** Upper bound of the server's compression window, 9..15 (an offer may lower it further). */
  readonly serverMaxWindowBits?: number;
  /**
   * Window the server asks the client to compress with, 9..15. Only a client that offered
   * `client_max_window_bits` can be asked (with any other client the window stays 15), and never
   * for more than the value that client offered.
   */
  readonly clientMaxWindowBits?: number;
}

/** What a client offers. The same shape describes a parsed offer on the server side. */
export interface DeflateClientOptions {
  /** Ask the server to reset its context per message. */
  readonly serverNoContextTakeover?: boolean;
  /** Promise to reset the client's context per message. */
  readonly clientNoContextTakeover?: boolean;
  /** Ask the server to compress with at most this window, 9..15. */
  readonly serverMaxWindowBits?: number;
  /**
   * `true`: the client supports a `client_max_window_bits` answer (the server picks the window).
   * A number (9..15): the same, plus a promise to compress with at most that window.
   */
  readonly clientMaxWindowBits?: number | true;
}

/** One element of a `Sec-WebSocket-Extensions` header: an extension name and its parameters. */
export interface ExtensionOffer {
  readonly name: string;
  /** In order; `true` for a parameter without a value. Quoted values are unquoted. */
  readonly params: ReadonlyArray<readonly [name: string, value: string | true]>;
}

export const PERMESSAGE_DEFLATE = 'permessage-deflate';
export const MIN_WINDOW_BITS = 8;
export const MAX_WINDOW_BITS = 15;
/** The smallest window zlib can compress raw deflate data with (see the module comment). */
export const MIN_COMPRESS_WINDOW_BITS = 9;

/** The parameters when neither side asks for anything. */
export const DEFAULT_DEFLATE_PARAMS: DeflateParams = Object.freeze({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: MAX_WINDOW_BITS,
  clientMaxWindowBits: MAX_WINDOW_BITS,
});

// ---------------------------------------------------------------------------------------------
// Sec-WebSocket-Extensions grammar (RFC 6455 §9.1):
//   extension-list = 1#extension ; extension = token *( ";" param )
//   param = token [ "=" (token | quoted-string) ] ; a quoted value must unquote to a token.

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses a `Sec-WebSocket-Extensions` value (join several header lines with `, ` first). Empty
 * list elements are ignored, as RFC 9110 §5.6.1 asks of list recipients.
 */
export function parseExtensionHeader(value: string): { ok: true; offers: ExtensionOffer[] } | { ok: false; reason: string } {
  const offers: ExtensionOffer[] = [];
  let pos = 0;
  const skipOws = (): void => {
    while (pos < value.length && (value[pos] === ' ' || value[pos] === '\t')) pos++;
  };
  const readToken = (): string => {
    const start = pos;
    while (pos < value.length && TCHAR.test(value[pos]!)) pos++;
    return value.slice(start, pos);
  };
  const fail = (reason: string) => ({ ok: false as const, reason: `${reason} at offset ${pos} of the extension header` });

  for (;;) {
    skipOws();
    if (pos >= value.length) break;
    if (value[pos] === ',') {
      pos++;
      continue;
    }
    const name = readToken();
    if (name === '') return fail('expected an extension name');
    const params: Array<readonly [string, string | true]> = [];
    skipOws();
    while (value[pos] === ';') {
      pos++;
      skipOws();
      const paramName = readToken();
      if (paramName === '') return fail('expected a parameter name');
      skipOws();
      let paramValue: string | true = true;
      if (value[pos] === '=') {
        pos++;
        skipOws();
        if (value[pos] === '"') {
          const quoted = readQuoted(value, pos);
          if (quoted === undefined) return fail('unterminated quoted string');
          pos = quoted.end;
          if (!TOKEN.test(quoted.text)) return fail('quoted parameter value is not a token');
          paramValue = quoted.text;
        } else {
          paramValue = readToken();
          if (paramValue === '') return fail('expected a parameter value');
        }
        skipOws();
      }
      params.push([paramName, paramValue]);
    }
    offers.push({ name, params });
    if (pos >= value.length) break;
    if (value[pos] !== ',') return fail(`unexpected ${JSON.stringify(value[pos])}`);
    pos++;
  }
  return { ok: true, offers };
}

/** Reads a quoted-string starting at the opening quote; returns its unescaped text and end. */
function readQuoted(value: string, start: number): { text: string; end: number } | undefined {
  let text = '';
  for (let pos = start + 1; pos < value.length; pos++) {
    const char = value[pos]!;
    if (char === '"') return { text, end: pos + 1 };
    if (char === '\\') {
      pos++;
      if (pos >= value.length) return undefined;
      text += value[pos]!;
    } else {
      text += char;
    }
  }
  return undefined;
}

/** Formats extension elements back into a header value. */
export function formatExtensionHeader(offers: readonly ExtensionOffer[]): string {
  return offers
    .map((offer) => [offer.name, ...offer.params.map(([name, value]) => (value === true ? name : `${name}=${value}`))].join('; '))
    .join(', ');
}

// ---------------------------------------------------------------------------------------------
// Parameters of one permessage-deflate element.

const WINDOW_BITS_VALUE = /^(?:8|9|1[0-5])$/; // decimal 8..15, no leading zero, no sign

type ParsedParams = {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  clientMaxWindowBits: number | true | undefined;
};

/**
 * Reads the parameters of a permessage-deflate element. Any duplicate, unknown parameter or bad
 * value makes the whole element invalid (RFC 7692 §5, §7.1). In a response,
 * `client_max_window_bits` must carry a value (§7.1.2.2).
 */
function readDeflateParams(element: ExtensionOffer, context: 'offer' | 'response'): { ok: true; params: ParsedParams } | { ok: false; reason: string } {
  const params: ParsedParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  const seen = new Set<string>();
  for (const [rawName, value] of element.params) {
    const name = rawName.toLowerCase();
    if (seen.has(name)) return { ok: false, reason: `duplicate parameter ${name}` };
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== true) return { ok: false, reason: `${name} takes no value` };
        if (name === 'server_no_context_takeover') params.serverNoContextTakeover = true;
        else params.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits':
        if (value === true || !WINDOW_BITS_VALUE.test(value)) return { ok: false, reason: `${name} needs a value from 8 to 15` };
        params.serverMaxWindowBits = Number(value);
        break;
      case 'client_max_window_bits':
        if (value === true) {
          if (context === 'response') return { ok: false, reason: `${name} needs a value in a response` };
          params.clientMaxWindowBits = true;
        } else {
          if (!WINDOW_BITS_VALUE.test(value)) return { ok: false, reason: `${name} must be from 8 to 15` };
          params.clientMaxWindowBits = Number(value);
        }
        break;
      default:
        return { ok: false, reason: `unknown parameter ${rawName}` };
    }
  }
  return { ok: true, params };
}

/** Whether an extension element names permessage-deflate (extension names compared case-insensitively). */
export function isDeflateExtension(element: ExtensionOffer): boolean {
  return element.name.toLowerCase() === PERMESSAGE_DEFLATE;
}

/** Reads one permessage-deflate offer as the client options it expresses. */
export function parseDeflateOffer(element: ExtensionOffer): { ok: true; offer: DeflateClientOptions } | { ok: false; reason: string } {
  const read = readDeflateParams(element, 'offer');
  if (!read.ok) return read;
  const { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits } = read.params;
  const offer: DeflateClientOptions = {
    ...(serverNoContextTakeover ? { serverNoContextTakeover } : {}),
    ...(clientNoContextTakeover ? { clientNoContextTakeover } : {}),
    ...(serverMaxWindowBits !== undefined ? { serverMaxWindowBits } : {}),
    ...(clientMaxWindowBits !== undefined ? { clientMaxWindowBits } : {}),
  };
  return { ok: true, offer };
}

// ---------------------------------------------------------------------------------------------
// Formatting.

/**
 * Formats agreed parameters as the server's `Sec-WebSocket-Extensions` response value. Defaults
 * are left out (a window of 15 is what an absent parameter means), except that
 * `server_max_window_bits` is written whenever `echoServerMaxWindowBits` is set: a server
 * accepts an offer carrying that parameter by answering it (RFC 7692 §7.1.2.1).
 */
export function formatDeflateParams(params: DeflateParams, role: 'response', options: { echoServerMaxWindowBits?: boolean } = {}): string {
  let text = PERMESSAGE_DEFLATE;
  if (params.serverNoContextTakeover) text += '; server_no_context_takeover';
  if (params.clientNoContextTakeover) text += '; client_no_context_takeover';
  if (params.serverMaxWindowBits !== MAX_WINDOW_BITS || options.echoServerMaxWindowBits === true) {
    text += `; server_max_window_bits=${params.serverMaxWindowBits}`;
  }
  if (params.clientMaxWindowBits !== MAX_WINDOW_BITS) text += `; client_max_window_bits=${params.clientMaxWindowBits}`;
  return text;
}

/**
 * The plain offer sent after one that constrains the server (`server_max_window_bits`,
 * `server_no_context_takeover`), RFC 7692 §5: servers that cannot honour or ignore those
 * parameters (Bun's built-in server declines such an offer, gorilla/websocket answers without them) then
 * still compress, with their own window and context. Only the client's own parameters stay.
 * `undefined` when the offer constrains nothing on the server's side.
 */
export function fallbackDeflateOffer(offer: DeflateClientOptions): DeflateClientOptions | undefined {
  if (offer.serverMaxWindowBits === undefined && offer.serverNoContextTakeover !== true) return undefined;
  return {
    ...(offer.clientNoContextTakeover !== undefined ? { clientNoContextTakeover: offer.clientNoContextTakeover } : {}),
    ...(offer.clientMaxWindowBits !== undefined ? { clientMaxWindowBits: offer.clientMaxWindowBits } : {}),
  };
}

/** Formats a client's offer as a `Sec-WebSocket-Extensions` value. Options are validated first. */
export function formatDeflateOffer(options: DeflateClientOptions): string {
  assertDeflateClientOptions(options);
  let text = PERMESSAGE_DEFLATE;
  if (options.serverNoContextTakeover === true) text += '; server_no_context_takeover';
  if (options.clientNoContextTakeover === true) text += '; client_no_context_takeover';
  if (options.serverMaxWindowBits !== undefined) text += `; server_max_window_bits=${options.serverMaxWindowBits}`;
  if (options.clientMaxWindowBits === true) text += '; client_max_window_bits';
  else if (options.clientMaxWindowBits !== undefined) text += `; client_max_window_bits=${options.clientMaxWindowBits}`;
  return text;
}

// ---------------------------------------------------------------------------------------------
// Option validation (the caller's mistakes throw).

function assertWindowBits(value: unknown, name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_COMPRESS_WINDOW_BITS || value > MAX_WINDOW_BITS) {
    throw new HandshakeError('ERR_INVALID_OPTION', `perMessageDeflate.${name} must be an integer from ${MIN_COMPRESS_WINDOW_BITS} to ${MAX_WINDOW_BITS}`);
  }
}

function assertBoolean(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new HandshakeError('ERR_INVALID_OPTION', `perMessageDeflate.${name} must be a boolean`);
  }
}

/** Throws a `HandshakeError` for server options the negotiation cannot honour. */
export function assertDeflateServerOptions(options: DeflateServerOptions): void {
  assertBoolean(options.serverNoContextTakeover, 'serverNoContextTakeover');
  assertBoolean(options.clientNoContextTakeover, 'clientNoContextTakeover');
  assertWindowBits(options.serverMaxWindowBits, 'serverMaxWindowBits');
  assertWindowBits(options.clientMaxWindowBits, 'clientMaxWindowBits');
}

/** Throws a `HandshakeError` for client options that cannot be offered. */
export function assertDeflateClientOptions(options: DeflateClientOptions): void {
  assertBoolean(options.serverNoContextTakeover, 'serverNoContextTakeover');
  assertBoolean(options.clientNoContextTakeover, 'clientNoContextTakeover');
  assertWindowBits(options.serverMaxWindowBits, 'serverMaxWindowBits');
  if (options.clientMaxWindowBits !== true) assertWindowBits(options.clientMaxWindowBits, 'clientMaxWindowBits');
}

// ---------------------------------------------------------------------------------------------
// Server: choose an offer.

export type DeflateNegotiation =
  | { readonly ok: true; readonly params: DeflateParams; /** the response element */ readonly extension: string }
  | { readonly ok: false; /** why each permessage-deflate offer was declined, in order */ readonly reasons: readonly string[] };

/**
 * Accepts one offer under the server's options, or says why it cannot. The result always
 * satisfies the offer (never a larger server window than it asked for, context reset when it
 * asked, no `client_max_window_bits` it did not announce support for) and the options (windows
 * no larger than theirs, context resets they asked for).
 */
export function acceptDeflateOffer(offer: DeflateClientOptions, options: DeflateServerOptions = {}): { ok: true; params: DeflateParams; extension: string } | { ok: false; reason: string } {
  const offeredServerBits = offer.serverMaxWindowBits;
  if (offeredServerBits !== undefined && offeredServerBits < MIN_COMPRESS_WINDOW_BITS) {
    return { ok: false, reason: `server_max_window_bits=${offeredServerBits} cannot be honoured (zlib compresses with at least ${MIN_COMPRESS_WINDOW_BITS} bits)` };
  }
  const serverMaxWindowBits = Math.min(options.serverMaxWindowBits ?? MAX_WINDOW_BITS, offeredServerBits ?? MAX_WINDOW_BITS);

  let clientMaxWindowBits = MAX_WINDOW_BITS;
  if (offer.clientMaxWindowBits !== undefined) {
    clientMaxWindowBits = options.clientMaxWindowBits ?? MAX_WINDOW_BITS;
    // A value in the offer is the client's promise: answering at most that saves inflate
    // memory, and some clients (ws) fail a larger answer although the RFC allows it.
    if (typeof offer.clientMaxWindowBits === 'number') clientMaxWindowBits = Math.min(clientMaxWindowBits, offer.clientMaxWindowBits);
    // Only an offer of 8 gets here: answering 8 would ask for a window zlib cannot compress
    // with, and 9 would exceed the offer, so leave the parameter out and inflate with 15.
    if (clientMaxWindowBits < MIN_COMPRESS_WINDOW_BITS) clientMaxWindowBits = MAX_WINDOW_BITS;
  }

  const params: DeflateParams = {
    serverNoContextTakeover: offer.serverNoContextTakeover === true || options.serverNoContextTakeover === true,
    clientNoContextTakeover: offer.clientNoContextTakeover === true || options.clientNoContextTakeover === true,
    serverMaxWindowBits,
    clientMaxWindowBits,
  };
  const extension = formatDeflateParams(params, 'response', { echoServerMaxWindowBits: offeredServerBits !== undefined });
  return { ok: true, params, extension };
}

/**
 * The server's negotiation: takes the first permessage-deflate offer that is well-formed and
 * acceptable, in the client's order of preference (RFC 7692 §5); other extensions are ignored.
 * A malformed offer is declined and the next one tried.
 */
export function negotiateDeflate(offers: readonly ExtensionOffer[], options: DeflateServerOptions = {}): DeflateNegotiation {
  assertDeflateServerOptions(options);
  const reasons: string[] = [];
  for (const element of offers) {
    if (!isDeflateExtension(element)) continue;
    const parsed = parseDeflateOffer(element);
    if (!parsed.ok) {
      reasons.push(parsed.reason);
      continue;
    }
    const accepted = acceptDeflateOffer(parsed.offer, options);
    if (accepted.ok) return accepted;
    reasons.push(accepted.reason);
  }
  if (reasons.length === 0) reasons.push('permessage-deflate was not offered');
  return { ok: false, reasons };
}

// ---------------------------------------------------------------------------------------------
// Client: check the server's answer.

/**
 * The client's check of the server's `Sec-WebSocket-Extensions` elements against what it
 * offered (RFC 6455 §4.1, RFC 7692 §5 and §7): only permessage-deflate, at most once, only if
 * offered, with parameters the offer allows. Returns the parameters in force (`undefined` when
 * the server declined the extension).
 */
export function validateDeflateResponse(elements: readonly ExtensionOffer[], offered: DeflateClientOptions | undefined): { ok: true; params: DeflateParams | undefined } | { ok: false; reason: string } {
  if (elements.length === 0) return { ok: true, params: undefined };
  const [element, ...others] = elements;
  if (others.length > 0) return { ok: false, reason: 'the server accepted more than one extension' };
  if (!isDeflateExtension(element!)) return { ok: false, reason: `the server accepted the extension ${element!.name}, which was not offered` };
  if (offered === undefined) return { ok: false, reason: 'the server accepted permessage-deflate, which was not offered' };

  const read = readDeflateParams(element!, 'response');
  if (!read.ok) return { ok: false, reason: `invalid permessage-deflate response: ${read.reason}` };
  const response = read.params;

  if (offered.serverNoContextTakeover === true && !response.serverNoContextTakeover) {
    return { ok: false, reason: 'the server did not accept server_no_context_takeover, which was offered' };
  }
  if (offered.serverMaxWindowBits !== undefined) {
    if (response.serverMaxWindowBits === undefined) {
      return { ok: false, reason: 'the server did not answer server_max_window_bits, which was offered' };
    }
    if (response.serverMaxWindowBits > offered.serverMaxWindowBits) {
      return { ok: false, reason: `server_max_window_bits=${response.serverMaxWindowBits} exceeds the offered ${offered.serverMaxWindowBits}` };
    }
  }
  let clientMaxWindowBits = typeof offered.clientMaxWindowBits === 'number' ? offered.clientMaxWindowBits : MAX_WINDOW_BITS;
  if (response.clientMaxWindowBits !== undefined) {
    if (offered.clientMaxWindowBits === undefined) {
      return { ok: false, reason: 'the server sent client_max_window_bits, which the client did not offer' };
    }
    const asked = response.clientMaxWindowBits as number;
    if (asked < MIN_COMPRESS_WINDOW_BITS) {
      return { ok: false, reason: `client_max_window_bits=${asked} cannot be honoured (zlib compresses with at least ${MIN_COMPRESS_WINDOW_BITS} bits)` };
    }
    clientMaxWindowBits = Math.min(clientMaxWindowBits, asked);
  }
  return {
    ok: true,
    params: {
      serverNoContextTakeover: response.serverNoContextTakeover,
      // An offered client_no_context_takeover is the client's own promise; it holds either way.
      clientNoContextTakeover: response.clientNoContextTakeover || offered.clientNoContextTakeover === true,
      serverMaxWindowBits: response.serverMaxWindowBits ?? MAX_WINDOW_BITS,
      clientMaxWindowBits,
    },
  };
}
