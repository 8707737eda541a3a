/**
 * Bounded per-topic history and the rule that turns "what is retained" into "what a client
 * that saw up to `after` gets". The rule is shared by every broker so the memory and Redis
 * brokers answer a resume identically.
 */
import type { BrokerEntry, BrokerPosition, HistoryOptions, HistoryRead } from './broker.js';

/** A fresh random epoch id (base36, no separators). */
export function newEpoch(): string {
  const bytes = new Uint8Array(9);
  globalThis.crypto.getRandomValues(bytes);
  let text = '';
  for (const byte of bytes) text += byte.toString(36).padStart(2, '0');
  return text;
}

/**
 * Checks a client's position against a read made after its seq: when the client names an
 * epoch other than the stream's, or an entry id other than the one history holds at its seq
 * (or history can no longer show that entry), the seq is not a place in this stream and the
 * read becomes `unknown` (the client is told to resync). Without epoch/id (an older client)
 * the read is returned as it is.
 */
export function verifyPosition(read: HistoryRead, position: BrokerPosition): HistoryRead {
  const unknown = (): HistoryRead => ({ kind: 'unknown', head: read.head, epoch: read.epoch, headId: read.headId });
  if (read.kind === 'unknown') return read;
  if (position.epoch !== undefined && read.epoch !== undefined && position.epoch !== read.epoch) return unknown();
  if (position.id !== undefined && position.seq > 0 && read.anchor !== position.id) return unknown();
  return read;
}

/**
 * The entries still within the age limit. Kept as a suffix: an entry older than the limit
 * hides every entry before it, so a publisher with a lagging clock can never make the
 * retained range have a hole in the middle.
 */
export function retainedSuffix(entries: readonly BrokerEntry[], now: number, maxAgeMs: number): readonly BrokerEntry[] {
  const cutoff = now - maxAgeMs;
  for (let i = entries.length - 1; i >= 0; i--) {
    if (entries[i]!.publishedAt < cutoff) return entries.slice(i + 1);
  }
  return entries;
}

/** Classify a read after `after`, given the topic's head seq and its retained entries in seq order. */
export function classifyRead(after: number, head: number, retained: readonly BrokerEntry[], epoch?: string): HistoryRead {
  const last = retained.length > 0 ? retained[retained.length - 1]! : undefined;
  const headId = last !== undefined && last.seq === head ? last.id : undefined;
  const tags = { epoch, headId };
  if (after > head) return { kind: 'unknown', head, ...tags };
  let start = 0;
  while (start < retained.length && retained[start]!.seq < after) start++;
  const anchor = start < retained.length && retained[start]!.seq === after ? retained[start]!.id : undefined;
  if (after === head) return { kind: 'complete', head, entries: [], anchor, ...tags };
  while (start < retained.length && retained[start]!.seq <= after) start++;
  const entries = start === 0 ? retained : retained.slice(start);
  const first = entries.length > 0 ? entries[0]!.seq : head + 1;
  if (first === after + 1) return { kind: 'complete', head, entries, anchor, ...tags };
  return { kind: 'truncated', head, from: after + 1, to: first - 1, entries, anchor, ...tags };
}

/** One topic's history in memory: the last `maxCount` entries, older ones dropped on write and judged by age on read. */
export class TopicHistory {
  #entries: BrokerEntry[] = [];
  #head = 0;
  /** This numbering's epoch: a new process (or a new history) is a new epoch. */
  readonly epoch: string;

  constructor(
    private readonly options: HistoryOptions,
    epoch: string = newEpoch(),
  ) {
    this.epoch = epoch;
  }

  get head(): number {
    return this.#head;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Next seq: one above the head, or above `floor` when the caller knows a higher numbering. */
  nextSeq(floor: number): number {
    return Math.max(this.#head, floor) + 1;
  }

  raiseFloor(floor: number): void {
    if (floor > this.#head) this.#head = floor;
  }

  append(entry: BrokerEntry, now: number): void {
    this.#head = entry.seq;
    if (this.options.maxCount <= 0) return;
    this.#entries.push(entry);
    this.#trim(now);
  }

  readAfter(after: number, now: number): HistoryRead {
    this.#trim(now);
    const { maxCount, maxAgeMs } = this.options;
    const counted = this.#entries.length > maxCount ? this.#entries.slice(this.#entries.length - maxCount) : this.#entries;
    return classifyRead(after, this.#head, retainedSuffix(counted, now, maxAgeMs), this.epoch);
  }

  /**
   * Drops entries beyond the count bound and too old ones at the front. The array may hold
   * up to half again `maxCount` before it is compacted, so a publish costs O(1) amortized;
   * reads only ever see the newest `maxCount`.
   */
  #trim(now: number): void {
    const { maxCount, maxAgeMs } = this.options;
    const over = this.#entries.length - maxCount;
    let drop = over >= Math.max(32, maxCount >> 1) ? over : 0;
    const cutoff = now - maxAgeMs;
    while (drop < this.#entries.length && this.#entries[drop]!.publishedAt < cutoff) drop++;
    if (drop > 0) this.#entries.splice(0, drop);
  }
}
