/** What a queue holds: an encoded message, its size, when it was queued, and what the app sent. */
export interface QueuedItem<Meta> {
  readonly payload: string | Uint8Array;
  readonly bytes: number;
  readonly at: number;
  readonly meta: Meta;
}

export interface QueueLimits {
  readonly maxCount: number;
  readonly maxBytes: number;
  /** Time-to-live in ms; Infinity keeps items until they are sent or the client closes. */
  readonly ttl: number;
}

const encoder = new TextEncoder();

/** The size a payload takes on the wire: UTF-8 bytes for text. */
export const byteLength = (payload: string | Uint8Array): number =>
  typeof payload === 'string' ? encoder.encode(payload).byteLength : payload.byteLength;

/**
 * First-in first-out, bounded by count and bytes. `push` refuses (returns undefined) an item
 * that would cross a bound — it never evicts what was accepted, so order and acceptance are
 * the whole contract: accepted items come out in order unless they expire or are removed.
 */
export function createQueue<Meta>(limits: QueueLimits) {
  let items: QueuedItem<Meta>[] = [];
  let bytes = 0;
  return {
    get size() {
      return items.length;
    },
    get bytes() {
      return bytes;
    },
    push(payload: string | Uint8Array, meta: Meta, now: number): QueuedItem<Meta> | undefined {
      const item = { payload, bytes: byteLength(payload), at: now, meta };
      if (items.length + 1 > limits.maxCount || bytes + item.bytes > limits.maxBytes) return undefined;
      items.push(item);
      bytes += item.bytes;
      return item;
    },
    remove(item: QueuedItem<Meta>): void {
      const index = items.indexOf(item);
      if (index < 0) return;
      items.splice(index, 1);
      bytes -= item.bytes;
    },
    /** Removes and returns the items whose time-to-live has passed (they are all at the head). */
    expire(now: number): QueuedItem<Meta>[] {
      let count = 0;
      while (count < items.length && now - items[count]!.at >= limits.ttl) count++;
      const expired = items.splice(0, count);
      for (const item of expired) bytes -= item.bytes;
      return expired;
    },
    /** When the head item expires, or undefined if nothing can expire. */
    nextExpiry(): number | undefined {
      const head = items[0];
      return head && limits.ttl < Infinity ? head.at + limits.ttl : undefined;
    },
    takeAll(): QueuedItem<Meta>[] {
      const all = items;
      items = [];
      bytes = 0;
      return all;
    },
  };
}
