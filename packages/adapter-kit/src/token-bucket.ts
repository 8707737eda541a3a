/** Messages per interval, with bursts: the per-connection rate limit (exceeding it closes 1008). */
export interface RateLimitOptions {
  /** Sustained messages per second. */
  readonly messagesPerSecond: number;
  /** Messages allowed in a burst above the sustained rate (default: one second's worth). */
  readonly burst?: number;
}

/** The rate limit as a token bucket: full at start, refilled continuously; `now` is injectable so tests control time. */
export class TokenBucket {
  #tokens: number;
  #last: number;
  readonly #capacity: number;
  readonly #ratePerMs: number;
  readonly #now: () => number;

  constructor(options: RateLimitOptions, now: () => number = Date.now) {
    if (!(options.messagesPerSecond > 0)) throw new RangeError('rateLimit.messagesPerSecond must be positive');
    this.#capacity = Math.max(1, options.burst ?? options.messagesPerSecond);
    this.#ratePerMs = options.messagesPerSecond / 1000;
    this.#tokens = this.#capacity;
    this.#now = now;
    this.#last = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const t = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (t - this.#last) * this.#ratePerMs);
    this.#last = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
