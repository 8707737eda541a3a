/**
 * The server's side of the opening handshake (RFC 6455 §4.2): one pure function that reads a
 * request's method, version and raw headers and returns either the 101 to send or a complete
 * error response. It never throws because of the request — any header list, however odd, gets
 * an answer (ws crashed on some in CVE-2024-37890) — and throws only for invalid options.
 *
 * Decisions where the RFC leaves room:
 * - a method other than GET gets 405 with `Allow: GET` (methods are case-sensitive: `get` too);
 * - HTTP/1.0 gets 400 (a WebSocket upgrade needs HTTP/1.1, RFC 6455 §4.1);
 * - a missing or malformed `Sec-WebSocket-Version` is a malformed handshake (400), a well-formed
 *   version other than 13 gets 426 (§4.2.2); both carry `Sec-WebSocket-Version: 13`;
 * - every single-valued handshake header (Host, Sec-WebSocket-Key, Sec-WebSocket-Version,
 *   Origin) appearing twice is a 400;
 * - subprotocols: with a list, the server's order of preference wins — the first of its
 *   protocols that the client offered; with a function, whatever it returns, provided the client
 *   offered it. Nothing the client did not offer is ever answered;
 * - origins: a list is an allow-list of browser origins compared case-insensitively, and a
 *   request without `Origin` (not from a browser) is refused by it; a function decides alone;
 * - extensions: a malformed `Sec-WebSocket-Extensions` header or offer declines the extension
 *   (101 without it) rather than refusing the connection, as extensions are optional.
 */

import {
  negotiateDeflate,
  parseExtensionHeader,
  assertDeflateServerOptions,
  type DeflateParams,
  type DeflateServerOptions,
} from '../extensions/permessage-deflate.js';
import { HandshakeError } from './errors.js';
import { hasToken, headerValues, isToken, parseTokenList, singleHeader, type HeaderList } from './headers.js';
import { assertValidHeaders, formatErrorResponse, formatResponseHead } from './http-response.js';
import { computeAccept, isValidKey } from './key.js';

export interface UpgradeServerOptions {
  /** Subprotocol selection: a list in the server's order of preference, or a function. */
  readonly protocols?: readonly string[] | ((offered: readonly string[]) => string | undefined);
  /** Allowed origins (refused → 403): a list of origins, or a function. */
  readonly origins?: readonly string[] | ((origin: string | undefined) => boolean);
  /** permessage-deflate: off unless options are given (`{}` accepts with the RFC defaults). */
  readonly perMessageDeflate?: false | DeflateServerOptions;
  /** Added to the 101 response after the handshake headers. */
  readonly extraHeaders?: HeaderList;
  /** More header lines than this get 431. Default 128, the head parser's limit. */
  readonly maxHeaders?: number;
}

/** The HTTP statuses a refused upgrade is answered with. */
export type UpgradeRejectionStatus = 400 | 403 | 405 | 426 | 431;

export type UpgradeDecision =
  | {
      readonly ok: true;
      /** The client's `Sec-WebSocket-Key`. */
      readonly key: string;
      readonly protocol: string | undefined;
      readonly deflate: DeflateParams | undefined;
      /** The headers of the 101, as written in `response`. */
      readonly responseHeaders: HeaderList;
      /** The full 101 head, blank line included. */
      readonly response: Uint8Array;
    }
  | {
      readonly ok: false;
      readonly status: UpgradeRejectionStatus;
      /** Why, in a sentence; also the body of the response. */
      readonly reason: string;
      readonly responseHeaders: HeaderList;
      /** A complete HTTP/1.1 response (text/plain body, `Connection: close`). */
      readonly response: Uint8Array;
    };

/** The request as the handshake needs it (an `HttpRequestHead` fits, and so does node's request). */
export interface UpgradeRequest {
  readonly method: string;
  readonly version: '1.0' | '1.1';
  readonly headers: HeaderList;
}

const HANDSHAKE_HEADER_NAMES = new Set(['upgrade', 'connection', 'sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions']);
const VERSION_ABNF = /^(?:0|[1-9]\d?|1\d\d|2[0-4]\d|25[0-5])$/; // RFC 6455 §4.1: 0..255, no leading zero
const SUPPORTED_VERSION: HeaderList = [['Sec-WebSocket-Version', '13']];
const DEFAULT_MAX_HEADERS = 128;

/**
 * An upgrade request has no body. A `Transfer-Encoding`, a `Content-Length` other than 0, or
 * two `Content-Length`s are refused (RFC 9112 §6.3: conflicting framing must be rejected, since
 * a front proxy may read the bytes after the head as a body while we read them as frames).
 */
function bodyFramingProblem(headers: HeaderList): string | undefined {
  let lengths = 0;
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding') return 'an upgrade request carries no body: Transfer-Encoding is refused';
    if (lower !== 'content-length') continue;
    lengths += 1;
    if (lengths > 1) return 'more than one Content-Length';
    if (value.trim() !== '0') return 'an upgrade request carries no body: Content-Length must be 0';
  }
  return undefined;
}

export function validateUpgradeRequest(request: UpgradeRequest, options: UpgradeServerOptions = {}): UpgradeDecision {
  assertServerOptions(options);
  const { method, version, headers } = request;

  if (method !== 'GET') return reject(405, `method ${method} is not allowed for a WebSocket upgrade`, [['Allow', 'GET']]);
  if (version !== '1.1') return reject(400, 'a WebSocket upgrade needs HTTP/1.1');
  if (!Array.isArray(headers)) return reject(400, 'malformed header list');
  for (const entry of headers as readonly unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      return reject(400, 'malformed header list');
    }
  }
  const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
  if (headers.length > maxHeaders) return reject(431, `more than ${maxHeaders} header lines`);
  const framing = bodyFramingProblem(headers);
  if (framing !== undefined) return reject(400, framing);

  const host = singleHeader(headers, 'host');
  if (host.kind === 'missing') return reject(400, 'the Host header is missing');
  if (host.kind === 'duplicate') return reject(400, 'the Host header appears more than once');

  // `Upgrade` lists protocols (`name[/version]`, RFC 9110 §7.8); one of them must be websocket.
  if (!hasToken(headers, 'upgrade', 'websocket')) return reject(400, 'the Upgrade header does not name websocket');
  if (!hasToken(headers, 'connection', 'upgrade')) return reject(400, 'the Connection header does not hold the upgrade token');

  const versionHeader = singleHeader(headers, 'sec-websocket-version');
  if (versionHeader.kind === 'missing') return reject(400, 'the Sec-WebSocket-Version header is missing', SUPPORTED_VERSION);
  if (versionHeader.kind === 'duplicate') return reject(400, 'the Sec-WebSocket-Version header appears more than once', SUPPORTED_VERSION);
  if (!VERSION_ABNF.test(versionHeader.value)) return reject(400, 'malformed Sec-WebSocket-Version', SUPPORTED_VERSION);
  if (versionHeader.value !== '13') {
    return reject(426, `WebSocket version ${versionHeader.value} is not supported; this server speaks 13`, [
      ...SUPPORTED_VERSION,
      ['Upgrade', 'websocket'],
    ]);
  }

  const keyHeader = singleHeader(headers, 'sec-websocket-key');
  if (keyHeader.kind === 'missing') return reject(400, 'the Sec-WebSocket-Key header is missing');
  if (keyHeader.kind === 'duplicate') return reject(400, 'the Sec-WebSocket-Key header appears more than once');
  if (!isValidKey(keyHeader.value)) return reject(400, 'Sec-WebSocket-Key is not the base64 encoding of 16 bytes');
  const key = keyHeader.value;

  const originHeader = singleHeader(headers, 'origin');
  if (originHeader.kind === 'duplicate') return reject(400, 'the Origin header appears more than once');
  const origin = originHeader.kind === 'single' ? originHeader.value : undefined;
  if (options.origins !== undefined && !isOriginAllowed(options.origins, origin)) {
    return reject(403, origin === undefined ? 'requests without an Origin are not allowed' : `origin ${origin} is not allowed`);
  }

  const offeredProtocols = parseTokenList(headerValues(headers, 'sec-websocket-protocol'));
  if (offeredProtocols === undefined) return reject(400, 'Sec-WebSocket-Protocol holds something other than tokens');
  if (new Set(offeredProtocols).size !== offeredProtocols.length) return reject(400, 'Sec-WebSocket-Protocol lists a protocol twice');
  const protocol = selectProtocol(options.protocols, offeredProtocols);

  const deflate = options.perMessageDeflate ? negotiateFromHeaders(headers, options.perMessageDeflate) : undefined;

  const responseHeaders: Array<readonly [string, string]> = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', computeAccept(key)],
  ];
  if (protocol !== undefined) responseHeaders.push(['Sec-WebSocket-Protocol', protocol]);
  if (deflate !== undefined) responseHeaders.push(['Sec-WebSocket-Extensions', deflate.extension]);
  responseHeaders.push(...(options.extraHeaders ?? []));

  return {
    ok: true,
    key,
    protocol,
    deflate: deflate?.params,
    responseHeaders,
    response: formatResponseHead(101, responseHeaders),
  };
}

function reject(status: UpgradeRejectionStatus, reason: string, extraHeaders: HeaderList = []): UpgradeDecision {
  const response = formatErrorResponse(status, reason, extraHeaders);
  return { ok: false, status, reason, responseHeaders: response.headers, response: response.bytes };
}


function isOriginAllowed(origins: NonNullable<UpgradeServerOptions['origins']>, origin: string | undefined): boolean {
  if (typeof origins === 'function') return origins(origin) === true;
  if (origin === undefined) return false;
  const wanted = origin.toLowerCase();
  return origins.some((allowed) => allowed.toLowerCase() === wanted);
}

function selectProtocol(choice: UpgradeServerOptions['protocols'], offered: readonly string[]): string | undefined {
  if (choice === undefined || offered.length === 0) return undefined;
  if (typeof choice === 'function') {
    const chosen = choice(offered);
    return chosen !== undefined && offered.includes(chosen) ? chosen : undefined;
  }
  return choice.find((protocol) => offered.includes(protocol));
}

function negotiateFromHeaders(headers: HeaderList, options: DeflateServerOptions): { params: DeflateParams; extension: string } | undefined {
  const values = headerValues(headers, 'sec-websocket-extensions');
  if (values.length === 0) return undefined;
  const parsed = parseExtensionHeader(values.join(', '));
  if (!parsed.ok) return undefined;
  const negotiation = negotiateDeflate(parsed.offers, options);
  return negotiation.ok ? negotiation : undefined;
}

function assertServerOptions(options: UpgradeServerOptions): void {
  if (Array.isArray(options.protocols)) {
    for (const protocol of options.protocols as readonly unknown[]) {
      if (typeof protocol !== 'string' || !isToken(protocol)) {
        throw new HandshakeError('ERR_INVALID_OPTION', `protocols: ${JSON.stringify(protocol)} is not a token`);
      }
    }
  }
  if (options.perMessageDeflate) assertDeflateServerOptions(options.perMessageDeflate);
  if (options.maxHeaders !== undefined && (!Number.isSafeInteger(options.maxHeaders) || options.maxHeaders < 1)) {
    throw new HandshakeError('ERR_INVALID_OPTION', 'maxHeaders must be a positive integer');
  }
  if (options.extraHeaders !== undefined) {
    assertValidHeaders(options.extraHeaders, 'extraHeaders');
    for (const [name] of options.extraHeaders) {
      if (HANDSHAKE_HEADER_NAMES.has(name.toLowerCase())) {
        throw new HandshakeError('ERR_INVALID_OPTION', `extraHeaders: ${name} is set by the handshake itself`);
      }
    }
  }
}
