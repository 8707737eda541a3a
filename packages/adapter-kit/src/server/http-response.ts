import type { HeaderList } from '@switchyard/codec';

const encoder = new TextEncoder();

/** The reason phrases this package writes (others get a generic one). */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  418: "I'm a Teapot",
  422: 'Unprocessable Content',
  423: 'Locked',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Header names and values must not smuggle a line break into a response. */
export function isSafeHeader(name: string, value: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) && !/[\r\n\0]/.test(value);
}

/**
 * A complete HTTP/1.1 response that ends the connection, for refusals a server makes before
 * any application handler runs (capacity, path, authentication, timeouts). Unsafe headers and
 * the framing headers it sets itself are skipped; a body gets `text/plain` unless typed. A
 * caller's `Connection` options are kept next to `close` (a 426 must say `Connection: Upgrade`
 * along with its `Upgrade` header, RFC 9110 §7.8).
 */
export function httpResponse(status: number, body = '', headers: HeaderList = []): Uint8Array {
  const bodyBytes = encoder.encode(body);
  let fields = '';
  let connection = '';
  let typed = false;
  for (const [name, value] of headers) {
    if (!isSafeHeader(name, value)) continue;
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding') continue;
    if (lower === 'connection') {
      for (const option of value.split(',')) {
        const token = option.trim();
        if (token !== '' && token.toLowerCase() !== 'close' && token.toLowerCase() !== 'keep-alive') connection += `${token}, `;
      }
      continue;
    }
    if (lower === 'content-type') typed = true;
    fields += `${name}: ${value}\r\n`;
  }
  let head = `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? (status < 500 ? 'Error' : 'Server Error')}\r\nConnection: ${connection}close\r\n${fields}`;
  if (bodyBytes.byteLength > 0 && !typed) head += 'Content-Type: text/plain; charset=utf-8\r\n';
  head += `Content-Length: ${bodyBytes.byteLength}\r\n\r\n`;
  const headBytes = encoder.encode(head);
  const out = new Uint8Array(headBytes.byteLength + bodyBytes.byteLength);
  out.set(headBytes, 0);
  out.set(bodyBytes, headBytes.byteLength);
  return out;
}
