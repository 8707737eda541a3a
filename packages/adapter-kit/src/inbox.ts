/**
 * Messages waiting for a slow consumer (an async iterator or an `onMessage` handler). When
 * `limit` are waiting, `onFull` pauses the socket; when the consumer has taken them all,
 * `onDrained` resumes it. Memory is bounded by `limit` plus one socket read.
 */
export class Inbox<T> {
  readonly #items: T[] = [];
  #waiter: ((result: IteratorResult<T, undefined>) => void) | undefined;
  #ended = false;
  #full = false;
  readonly #limit: number;
  readonly #onFull: () => void;
  readonly #onDrained: () => void;

  constructor(limit: number, onFull: () => void, onDrained: () => void) {
    this.#limit = limit;
    this.#onFull = onFull;
    this.#onDrained = onDrained;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ done: false, value: item });
      return;
    }
    this.#items.push(item);
    if (!this.#full && this.#items.length >= this.#limit) {
      this.#full = true;
      this.#onFull();
    }
  }

  /** No more items: a pending `next()` resolves as done once the queue is empty. */
  end(): void {
    this.#ended = true;
    if (this.#items.length === 0 && this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ done: true, value: undefined });
    }
  }

  /** Drops everything (the consumer went away). */
  clear(): void {
    this.#items.length = 0;
    this.end();
    this.#release();
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#items.length > 0) {
      const value = this.#items.shift() as T;
      if (this.#items.length === 0) this.#release();
      return Promise.resolve({ done: false, value });
    }
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    if (this.#waiter !== undefined) return Promise.reject(new Error('only one consumer may read the messages at a time'));
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  #release(): void {
    if (!this.#full) return;
    this.#full = false;
    this.#onDrained();
  }
}
