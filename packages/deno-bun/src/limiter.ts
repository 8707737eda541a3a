/**
 * Bounds how many compression jobs run at once across the connections sharing it, so a burst
 * of compressed messages queues here (small) instead of piling buffers up inside zlib.
 */
export class ConcurrencyLimiter {
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  readonly limit: number;

  constructor(limit: number) {
    if (!(limit >= 1)) throw new RangeError('concurrencyLimit must be at least 1');
    this.limit = limit;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running += 1;
    try {
      return await job();
    } finally {
      this.#running -= 1;
      this.#waiting.shift()?.();
    }
  }
}
