/**
 * An incremental parser for the head of an HTTP/1.x request or response (RFC 9112 §2–§5), for
 * adapters that own a raw TCP socket. It takes bytes in any chunking — one byte at a time
 * included — and stops at the blank line, handing back the bytes after it (WebSocket frames may
 * arrive in the same chunk as the head).
 *
 * It is deliberately strict, since a WebSocket handshake has no reason to be unusual:
 * - lines end with CRLF; a bare LF or a bare CR is a 400 (RFC 9112 §2.2 lets a recipient accept
 *   a lone LF; refusing it keeps every parser on the path in agreement and rules out smuggling);
 * - obs-fold (a header line starting with whitespace) is a 400 (RFC 9112 §5.2);
 * - header names must be tokens, with no whitespace before the colon (RFC 9112 §5.1);
 * - header values may not hold control characters other than HTAB;
 * - empty lines before the start line are skipped (RFC 9112 §2.2), counted in the head size.
 * Limits stop memory growth before any allocation beyond them: the head (431), one line (414
 * for a request line, 431 for a header line, 400 for a status line) and the header count (431).
 */

import { HandshakeError } from './errors.js';
import { isToken, trimOws, type HeaderList } from './headers.js';

/** Size limits of one head. */
export interface HttpHeadLimits {
  /** Bytes of the whole head, start line to blank line inclusive. Default 16 KiB. */
  readonly maxHeadBytes: number;
  /**
   * Bytes of one line, excluding its CRLF. Default 16 KiB, the head's limit: node:http limits
   * only the whole head, and every runtime must answer the same request the same way.
   */
  readonly maxLineBytes: number;
  /** Number of header lines. Default 128. */
  readonly maxHeaders: number;
}

export const DEFAULT_HTTP_HEAD_LIMITS: HttpHeadLimits = Object.freeze({
  maxHeadBytes: 16 * 1024,
  maxLineBytes: 16 * 1024,
  maxHeaders: 128,
});

export interface HttpRequestHead {
  readonly kind: 'request';
  readonly method: string;
  readonly target: string;
  readonly version: '1.0' | '1.1';
  readonly headers: HeaderList;
}

export interface HttpResponseHead {
  readonly kind: 'response';
  readonly version: '1.0' | '1.1';
  readonly status: number;
  readonly statusText: string;
  readonly headers: HeaderList;
}

/** The HTTP statuses a server answers a head that could not be parsed with. */
export type HttpHeadErrorStatus = 400 | 414 | 431 | 505;

export type HttpHeadResult =
  | { readonly status: 'incomplete' }
  | { readonly status: 'complete'; readonly head: HttpRequestHead | HttpResponseHead; readonly rest: Uint8Array }
  | { readonly status: 'error'; readonly httpStatus: HttpHeadErrorStatus; readonly message: string };

type StartLine =
  | { readonly kind: 'request'; readonly method: string; readonly target: string; readonly version: '1.0' | '1.1' }
  | { readonly kind: 'response'; readonly version: '1.0' | '1.1'; readonly status: number; readonly statusText: string };

type HeadError = Extract<HttpHeadResult, { status: 'error' }>;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTTP_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"
/** tchar (RFC 9110 §5.6.2), by byte: 1 for the characters a token may hold. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;
const INCOMPLETE: HttpHeadResult = Object.freeze({ status: 'incomplete' });

export class HttpHeadParser {
  readonly #kind: 'request' | 'response';
  readonly #limits: HttpHeadLimits;
  /** Bytes of the current line received so far (the line is split across chunks). */
  #lineParts: Uint8Array[] = [];
  #lineLength = 0;
  #headBytes = 0;
  #startLine: StartLine | undefined;
  readonly #headers: Array<readonly [string, string]> = [];
  #error: HeadError | undefined;
  #complete = false;
  /** The start line's prefix (a method token and its space, or `HTTP/`) has been seen and is valid. */
  #startPrefixValid = false;

  constructor(kind: 'request' | 'response', limits?: Partial<HttpHeadLimits>) {
    this.#kind = kind;
    this.#limits = { ...DEFAULT_HTTP_HEAD_LIMITS, ...limits };
    for (const [name, value] of Object.entries(this.#limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new HandshakeError('ERR_INVALID_OPTION', `HttpHeadParser: ${name} must be a positive integer`);
      }
    }
  }

  /**
   * Feeds the next bytes. Returns `incomplete` until the blank line ends the head, then
   * `complete` with the head and `rest` (a view of the bytes of `chunk` after the head). An
   * error is final: every later call returns it again. Pushing after `complete` is a misuse.
   */
  push(chunk: Uint8Array): HttpHeadResult {
    if (this.#error) return this.#error;
    if (this.#complete) throw new HandshakeError('ERR_PARSER_COMPLETE', 'HttpHeadParser: the head is already complete');

    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const end = lf === -1 ? chunk.length : lf + 1;
      this.#headBytes += end - start;
      this.#lineLength += end - start;

      // A line may end with CRLF, so its content is complete at maxLineBytes + 2 bytes.
      if (this.#lineLength > this.#limits.maxLineBytes + (lf === -1 ? 1 : 2)) return this.#fail(this.#lineTooLong());
      if (this.#headBytes > this.#limits.maxHeadBytes) {
        return this.#fail({ status: 'error', httpStatus: 431, message: `head larger than ${this.#limits.maxHeadBytes} bytes` });
      }

      // Garbage (a TLS hello, a frame, random bytes) is refused at its first byte that cannot
      // begin a start line, instead of after waiting for a line end that may never come.
      if (this.#startLine === undefined && !this.#startPrefixValid) {
        const problem = this.#checkStartPrefix(chunk, start, end);
        if (problem !== undefined) return this.#fail(problem);
      }

      if (lf === -1) {
        this.#lineParts.push(chunk.slice(start));
        return INCOMPLETE;
      }
      const line = this.#takeLine(chunk.subarray(start, end));
      start = end;

      const outcome = this.#onLine(line);
      if (outcome === 'end') {
        this.#complete = true;
        return { status: 'complete', head: this.#buildHead(), rest: chunk.subarray(start) };
      }
      if (outcome !== undefined) return this.#fail(outcome);
    }
    return INCOMPLETE;
  }

  #lineTooLong(): HeadError {
    if (this.#startLine !== undefined) {
      return { status: 'error', httpStatus: 431, message: `header line longer than ${this.#limits.maxLineBytes} bytes` };
    }
    if (this.#kind === 'request') {
      return { status: 'error', httpStatus: 414, message: `request line longer than ${this.#limits.maxLineBytes} bytes` };
    }
    return { status: 'error', httpStatus: 400, message: `status line longer than ${this.#limits.maxLineBytes} bytes` };
  }

  /** Checks bytes `from`..`to` of `chunk`, the latest piece of the start line, against its grammar's prefix. */
  #checkStartPrefix(chunk: Uint8Array, from: number, to: number): HeadError | undefined {
    let offset = this.#lineLength - (to - from);
    for (let i = from; i < to; i++, offset++) {
      const byte = chunk[i]!;
      // Line ends, and the empty lines allowed before the start line, are judged per line.
      if (byte === CR || byte === LF) return undefined;
      if (this.#kind === 'request') {
        if (byte === SP) {
          if (offset === 0) return badRequest('malformed request line');
          this.#startPrefixValid = true;
          return undefined;
        }
        if (TCHAR[byte] !== 1) return badRequest('method is not a token');
      } else {
        if (byte !== HTTP_PREFIX[offset]) return badRequest('malformed status line');
        if (offset === HTTP_PREFIX.length - 1) {
          this.#startPrefixValid = true;
          return undefined;
        }
      }
    }
    return undefined;
  }

  /** Joins the buffered parts of the current line with its last piece (which ends in LF). */
  #takeLine(last: Uint8Array): Uint8Array {
    let line = last;
    if (this.#lineParts.length > 0) {
      line = new Uint8Array(this.#lineLength);
      let offset = 0;
      for (const part of this.#lineParts) {
        line.set(part, offset);
        offset += part.length;
      }
      line.set(last, offset);
      this.#lineParts = [];
    }
    this.#lineLength = 0;
    return line;
  }

  /** Handles one line (LF included): `end` at the blank line, an error, or nothing. */
  #onLine(line: Uint8Array): 'end' | HeadError | undefined {
    if (line.length < 2 || line[line.length - 2] !== CR) return badRequest('line not terminated by CRLF');
    const contentLength = line.length - 2;
    const crAt = line.indexOf(CR);
    if (crAt < contentLength) return badRequest('bare CR in the head');

    if (contentLength === 0) return this.#startLine === undefined ? undefined : 'end';
    const text = latin1(line, contentLength);

    if (this.#startLine === undefined) {
      const parsed = this.#kind === 'request' ? parseRequestLine(text) : parseStatusLine(text);
      if (isHeadError(parsed)) return parsed;
      this.#startLine = parsed;
      return undefined;
    }
    return this.#onHeaderLine(text);
  }

  #onHeaderLine(text: string): HeadError | undefined {
    const first = text.charCodeAt(0);
    if (first === 0x20 || first === 0x09) return badRequest('obsolete line folding in a header');
    const colon = text.indexOf(':');
    if (colon <= 0) return badRequest('header line without a name and colon');
    const name = text.slice(0, colon);
    if (!isToken(name)) return badRequest('header name is not a token');
    const value = trimOws(text.slice(colon + 1));
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if ((c < 0x20 && c !== 0x09) || c === 0x7f) return badRequest(`control character in the ${name} header`);
    }
    if (this.#headers.length >= this.#limits.maxHeaders) {
      return { status: 'error', httpStatus: 431, message: `more than ${this.#limits.maxHeaders} header lines` };
    }
    this.#headers.push([name, value]);
    return undefined;
  }

  #buildHead(): HttpRequestHead | HttpResponseHead {
    const startLine = this.#startLine!;
    const headers: HeaderList = this.#headers;
    if (startLine.kind === 'request') {
      return { kind: 'request', method: startLine.method, target: startLine.target, version: startLine.version, headers };
    }
    return { kind: 'response', version: startLine.version, status: startLine.status, statusText: startLine.statusText, headers };
  }

  #fail(error: HeadError): HeadError {
    this.#error = error;
    this.#lineParts = [];
    return error;
  }
}

function isHeadError(value: StartLine | HeadError): value is HeadError {
  return !('kind' in value);
}

function badRequest(message: string): HeadError {
  return { status: 'error', httpStatus: 400, message };
}

/** Decodes bytes one to one (ISO-8859-1), the charset of HTTP field octets. */
function latin1(bytes: Uint8Array, length: number): string {
  let text = '';
  // apply() takes the typed array as an array-like (spreading would go through its iterator);
  // slices keep the argument count far below engine limits.
  for (let i = 0; i < length; i += 4096) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(length, i + 4096)) as unknown as number[]);
  }
  return text;
}

const HTTP_VERSION = /^HTTP\/(\d)\.(\d)$/;

function parseVersion(text: string): '1.0' | '1.1' | HeadError {
  const match = HTTP_VERSION.exec(text);
  if (!match) return badRequest('malformed HTTP version');
  const version = `${match[1]}.${match[2]}`;
  if (version === '1.1' || version === '1.0') return version;
  return { status: 'error', httpStatus: 505, message: `HTTP version ${version} is not supported` };
}

// request-line = method SP request-target SP HTTP-version (RFC 9112 §3): exactly two spaces.
function parseRequestLine(text: string): StartLine | HeadError {
  const parts = text.split(' ');
  if (parts.length !== 3) return badRequest('malformed request line');
  const [method, target, versionText] = parts as [string, string, string];
  if (!isToken(method)) return badRequest('method is not a token');
  if (target === '' || !/^[\x21-\x7e]+$/.test(target)) return badRequest('malformed request target');
  const version = parseVersion(versionText);
  if (typeof version !== 'string') return version;
  return { kind: 'request', method, target, version };
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4); a missing SP
// before an empty reason is tolerated, as the reason phrase carries no meaning.
function parseStatusLine(text: string): StartLine | HeadError {
  const firstSpace = text.indexOf(' ');
  if (firstSpace === -1) return badRequest('malformed status line');
  const version = parseVersion(text.slice(0, firstSpace));
  if (typeof version !== 'string') return version;
  const statusText = text.slice(firstSpace + 1, firstSpace + 4);
  if (!/^\d{3}$/.test(statusText)) return badRequest('malformed status code');
  const afterCode = text.slice(firstSpace + 4);
  if (afterCode !== '' && afterCode[0] !== ' ') return badRequest('malformed status line');
  const reason = afterCode.slice(1);
  if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(reason)) return badRequest('control character in the reason phrase');
  return { kind: 'response', version, status: Number(statusText), statusText: reason };
}
