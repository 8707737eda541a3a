import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export type { HeadersInit } from '@switchyard/adapter-kit';

/** A header list as the codec reads it: raw names and values, in order, duplicates kept. */
export type RawHeaderList = Array<readonly [string, string]>;

/**
 * Pairs `req.rawHeaders` (a flat name/value array) so that duplicated headers stay visible:
 * two `Sec-WebSocket-Key` lines must be seen as two, not folded into one.
 */
export function pairRawHeaders(raw: readonly string[]): RawHeaderList {
  const pairs: RawHeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i] as string, raw[i + 1] as string]);
  return pairs;
}

export function requestHeaders(req: IncomingMessage): RawHeaderList {
  return pairRawHeaders(req.rawHeaders);
}

/** Turns `{ name: value | value[] }` (the shape users know from node:http) into a header list. */
export function headerRecordToList(record: Readonly<Record<string, string | readonly string[] | number | undefined>> | IncomingHttpHeaders): RawHeaderList {
  const list: RawHeaderList = [];
  for (const [name, value] of Object.entries(record)) {
    if (value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'number') list.push([name, String(value)]);
    else for (const v of value) list.push([name, String(v)]);
  }
  return list;
}

/** Header names and values must not smuggle a line break into the response. */
export function isSafeHeader(name: string, value: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) && !/[\r\n\0]/.test(value);
}
