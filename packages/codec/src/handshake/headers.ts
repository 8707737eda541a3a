/**
 * Helpers over raw header lists (RFC 9110 §5). Header lists are kept as received — in order,
 * duplicates included — because the handshake rules depend on duplicates: a second
 * `Sec-WebSocket-Key` or `Host` makes a request malformed, while list-valued headers such as
 * `Connection` may legitimately be split over several lines.
 */

/** Raw headers, in order, duplicates kept (node's `req.rawHeaders` paired up). */
export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

/** What a single-valued header looks like in a request. */
export type SingleHeader =
  | { readonly kind: 'missing' }
  | { readonly kind: 'single'; readonly value: string }
  | { readonly kind: 'duplicate' };

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `text` is an RFC 9110 `token` (a header name, a method, a list element…). */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

/**
 * Whether `text` may be sent as a header value: visible characters, spaces, tabs and obs-text
 * (0x80–0xFF), no CR, LF, NUL or other controls — so nothing can inject another header line.
 */
export function isValidFieldValue(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** Removes optional whitespace (SP and HTAB only, RFC 9110 §5.6.3) from both ends. */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** All values of the header `name` (matched case-insensitively), in order. */
export function headerValues(headers: HeaderList, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const entry of headers) {
    const [entryName, value] = entry;
    if (typeof entryName === 'string' && typeof value === 'string' && entryName.toLowerCase() === wanted) {
      values.push(value);
    }
  }
  return values;
}

/** The value of a header that must appear at most once, trimmed of optional whitespace. */
export function singleHeader(headers: HeaderList, name: string): SingleHeader {
  const values = headerValues(headers, name);
  if (values.length === 0) return { kind: 'missing' };
  if (values.length > 1) return { kind: 'duplicate' };
  return { kind: 'single', value: trimOws(values[0]!) };
}

/**
 * Parses the comma-separated token lists of every value given (RFC 9110 §5.6.1: a list header
 * may be split over several lines; empty elements are ignored). Returns `undefined` when an
 * element is not a token.
 */
export function parseTokenList(values: readonly string[]): string[] | undefined {
  const tokens: string[] = [];
  for (const value of values) {
    for (const element of value.split(',')) {
      const token = trimOws(element);
      if (token === '') continue;
      if (!isToken(token)) return undefined;
      tokens.push(token);
    }
  }
  return tokens;
}

/**
 * Whether the list header `name` holds the element `token` (both compared case-insensitively).
 * Other elements are not judged: an odd element elsewhere in `Connection` says nothing about
 * whether the upgrade option is there.
 */
export function hasToken(headers: HeaderList, name: string, token: string): boolean {
  const wanted = token.toLowerCase();
  for (const value of headerValues(headers, name)) {
    for (const element of value.split(',')) {
      if (trimOws(element).toLowerCase() === wanted) return true;
    }
  }
  return false;
}
