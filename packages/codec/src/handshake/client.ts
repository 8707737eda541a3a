/**
 * The client's side of the opening handshake (RFC 6455 §4.1): build the request bytes, then
 * check the server's response head. The response checks follow §4.1's list, plus what browsers
 * enforce (WHATWG Fetch, "establish a WebSocket connection"): when protocols were offered the
 * server must pick one of them.
 */

import {
  fallbackDeflateOffer,
  formatDeflateOffer,
  parseExtensionHeader,
  validateDeflateResponse,
  type DeflateClientOptions,
  type DeflateParams,
} from '../extensions/permessage-deflate.js';
import { HandshakeError } from './errors.js';
import { hasToken, headerValues, isToken, singleHeader, type HeaderList } from './headers.js';
import type { HttpResponseHead } from './http-head-parser.js';
import { assertValidHeaders, encodeLatin1 } from './http-response.js';
import { computeAccept, generateKey, isValidKey, type RandomBytes } from './key.js';

export interface UpgradeRequestOptions {
  /** The `Sec-WebSocket-Key` to send (default: `generateKey(randomBytes)`). */
  readonly key?: string;
  /** Subprotocols to offer, in order of preference: tokens, each once. */
  readonly protocols?: readonly string[];
  /** More headers (e.g. `Authorization`, `Cookie`); the handshake's own headers are refused. */
  readonly headers?: HeaderList;
  /** permessage-deflate: not offered unless options are given (`{}` offers the defaults). */
  readonly perMessageDeflate?: false | DeflateClientOptions;
  /** The `Origin` header (browsers always send it; other clients may). */
  readonly origin?: string;
  /** Randomness for the key, when `key` is not given. */
  readonly randomBytes?: RandomBytes;
}

export interface BuiltUpgradeRequest {
  /** The complete request head. */
  readonly bytes: Uint8Array;
  readonly key: string;
  /** The offer actually sent (defaults filled in), to pass to `validateUpgradeResponse`. */
  readonly offeredDeflate: DeflateClientOptions | undefined;
}

/** Where a `ws:`/`wss:` URL points, as the transport needs it. */
export interface WebSocketTarget {
  readonly secure: boolean;
  /** Host name without brackets (IPv6 literals bare), for connecting and TLS SNI. */
  readonly hostname: string;
  readonly port: number;
  /** The `Host` header value: host, plus the port when it is not the scheme's default. */
  readonly host: string;
  /** path + query: the request target. */
  readonly target: string;
}

/** Reserved: set by the handshake itself, so `headers` may not carry them. */
const RESERVED_REQUEST_HEADERS = new Set([
  'host',
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'origin',
]);

/**
 * Resolves a WebSocket URL. `ws:` and `wss:` are accepted, as are `http:` and `https:` (mapped to
 * them, like the WHATWG WebSocket constructor). Fragments are refused (RFC 6455 §3) and so is
 * userinfo, which would otherwise be silently dropped: send credentials as headers.
 */
export function resolveWebSocketUrl(url: string | URL): WebSocketTarget {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch {
    throw new HandshakeError('ERR_INVALID_URL', `invalid URL: ${String(url)}`);
  }
  const scheme = parsed.protocol;
  let secure: boolean;
  if (scheme === 'ws:' || scheme === 'http:') secure = false;
  else if (scheme === 'wss:' || scheme === 'https:') secure = true;
  else throw new HandshakeError('ERR_INVALID_URL', `a WebSocket URL needs the ws: or wss: scheme, not ${scheme}`);
  if (parsed.href.includes('#')) throw new HandshakeError('ERR_INVALID_URL', 'a WebSocket URL may not have a fragment');
  if (parsed.username !== '' || parsed.password !== '') {
    throw new HandshakeError('ERR_INVALID_URL', 'credentials in a WebSocket URL are not supported; send an Authorization header');
  }
  if (parsed.hostname === '') throw new HandshakeError('ERR_INVALID_URL', 'a WebSocket URL needs a host');
  // Special schemes drop their default port, so parsed.port is '' for ws://h:80 and wss://h:443.
  if (scheme === 'http:' || scheme === 'https:') parsed.protocol = secure ? 'wss:' : 'ws:';
  const port = parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port);
  const hostname = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return { secure, hostname, port, host: parsed.host, target: `${parsed.pathname || '/'}${parsed.search}` };
}

/** Builds the client's opening handshake request (RFC 6455 §4.1). Throws `HandshakeError` on bad input. */
export function buildUpgradeRequest(
  url: string | URL,
  options: UpgradeRequestOptions = {},
): BuiltUpgradeRequest {
  const target = resolveWebSocketUrl(url);
  const key = options.key ?? generateKey(options.randomBytes);
  if (!isValidKey(key)) throw new HandshakeError('ERR_INVALID_OPTION', 'key must be the base64 encoding of 16 bytes');

  const protocols = options.protocols ?? [];
  const seen = new Set<string>();
  for (const protocol of protocols as readonly unknown[]) {
    if (typeof protocol !== 'string' || !isToken(protocol)) {
      throw new HandshakeError('ERR_INVALID_PROTOCOL', `subprotocol ${JSON.stringify(protocol)} is not a token`);
    }
    if (seen.has(protocol)) throw new HandshakeError('ERR_INVALID_PROTOCOL', `subprotocol ${protocol} is listed twice`);
    seen.add(protocol);
  }

  const extraHeaders = options.headers ?? [];
  assertValidHeaders(extraHeaders, 'headers');
  for (const [name] of extraHeaders) {
    if (RESERVED_REQUEST_HEADERS.has(name.toLowerCase())) {
      throw new HandshakeError('ERR_INVALID_HEADER', `headers: ${name} is set by the handshake itself`);
    }
  }

  const offeredDeflate = options.perMessageDeflate
    ? { ...options.perMessageDeflate, clientMaxWindowBits: options.perMessageDeflate.clientMaxWindowBits ?? true }
    : undefined;

  const headers: Array<readonly [string, string]> = [
    ['Host', target.host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', key],
    ['Sec-WebSocket-Version', '13'],
  ];
  if (options.origin !== undefined) headers.push(['Origin', options.origin]);
  if (protocols.length > 0) headers.push(['Sec-WebSocket-Protocol', protocols.join(', ')]);
  if (offeredDeflate !== undefined) {
    const fallback = fallbackDeflateOffer(offeredDeflate);
    const offers = fallback ? `${formatDeflateOffer(offeredDeflate)}, ${formatDeflateOffer(fallback)}` : formatDeflateOffer(offeredDeflate);
    headers.push(['Sec-WebSocket-Extensions', offers]);
  }
  assertValidHeaders(headers, 'origin');
  headers.push(...extraHeaders);

  let text = `GET ${target.target} HTTP/1.1\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return { bytes: encodeLatin1(`${text}\r\n`), key, offeredDeflate };
}

export type UpgradeResponseResult =
  | {
      readonly ok: true;
      readonly protocol: string | undefined;
      readonly deflate: DeflateParams | undefined;
      /** The extensions the server accepted, as it wrote them ('' when none): WHATWG `extensions`. */
      readonly extensions: string;
    }
  | { readonly ok: false; readonly reason: string };

/** Checks the server's response to the opening handshake (RFC 6455 §4.1, points 1–6). */
export function validateUpgradeResponse(
  head: HttpResponseHead,
  expected: { key: string; protocols?: readonly string[]; offeredDeflate?: DeflateClientOptions },
): UpgradeResponseResult {
  if (head.status !== 101) return fail(`the server answered ${head.status} ${head.statusText} instead of 101`.trimEnd());
  if (head.version !== '1.1') return fail('the 101 response is not HTTP/1.1');
  const { headers } = head;

  const upgrade = singleHeader(headers, 'upgrade');
  if (upgrade.kind !== 'single' || upgrade.value.toLowerCase() !== 'websocket') {
    return fail('the response Upgrade header is not "websocket"');
  }
  if (!hasToken(headers, 'connection', 'upgrade')) return fail('the response Connection header does not hold the upgrade token');

  const accept = singleHeader(headers, 'sec-websocket-accept');
  if (accept.kind === 'missing') return fail('the response has no Sec-WebSocket-Accept header');
  if (accept.kind === 'duplicate') return fail('the response has more than one Sec-WebSocket-Accept header');
  if (accept.value !== computeAccept(expected.key)) return fail('Sec-WebSocket-Accept does not match the key sent');

  const offeredProtocols = expected.protocols ?? [];
  const protocolValues = headerValues(headers, 'sec-websocket-protocol');
  let protocol: string | undefined;
  if (protocolValues.length > 1) return fail('the response has more than one Sec-WebSocket-Protocol header');
  if (protocolValues.length === 1) {
    protocol = protocolValues[0]!.trim();
    if (!offeredProtocols.includes(protocol)) return fail(`the server chose the subprotocol "${protocol}", which was not offered`);
  } else if (offeredProtocols.length > 0) {
    return fail('the server did not choose any of the offered subprotocols');
  }

  const extensionValues = headerValues(headers, 'sec-websocket-extensions').map((value) => value.trim());
  const extensions = extensionValues.filter((value) => value !== '').join(', ');
  const parsed = parseExtensionHeader(extensions);
  if (!parsed.ok) return fail(`malformed Sec-WebSocket-Extensions: ${parsed.reason}`);
  let deflate = validateDeflateResponse(parsed.offers, expected.offeredDeflate);
  // The answer may be to the plain fallback offer sent second.
  const fallback = expected.offeredDeflate && fallbackDeflateOffer(expected.offeredDeflate);
  if (!deflate.ok && fallback) {
    const plain = validateDeflateResponse(parsed.offers, fallback);
    if (plain.ok) deflate = plain;
  }
  if (!deflate.ok) return fail(deflate.reason);

  return { ok: true, protocol, deflate: deflate.params, extensions };
}

function fail(reason: string): UpgradeResponseResult {
  return { ok: false, reason };
}
