import type { IncomingMessage } from 'node:http';
import type { HeaderList } from '@switchyard/codec';

/**
 * The request's headers as the codec reads them, paired from `req.rawHeaders` so that
 * duplicated headers stay visible: two `Sec-WebSocket-Key` lines must be seen as two, not
 * folded into one.
 */
export function requestHeaders(req: IncomingMessage): HeaderList {
  const raw = req.rawHeaders;
  const pairs: Array<readonly [string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] as string, raw[i + 1] as string]);
  return pairs;
}
