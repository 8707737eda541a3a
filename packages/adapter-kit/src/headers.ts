import type { HeaderList } from '@switchyard/codec';

/**
 * Headers as a list of pairs (order and duplicates kept) or as a `{ name: value | values }`
 * record (the shape node:http users know; `undefined` values are skipped).
 */
export type HeadersInit = HeaderList | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Either shape of `HeadersInit` as the codec's header list. */
export function toHeaderList(headers: HeadersInit | undefined): HeaderList {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers as HeaderList;
  const list: Array<readonly [string, string]> = [];
  for (const [name, value] of Object.entries(headers as Readonly<Record<string, string | readonly string[] | undefined>>)) {
    if (value === undefined) continue;
    if (typeof value === 'string') list.push([name, value]);
    else for (const item of value) list.push([name, item]);
  }
  return list;
}
