/**
 * Bounds how many zlib jobs run at once across the connections sharing it: zlib work runs on
 * libuv's small thread pool, and thousands of parallel jobs only queue there while their
 * buffers pile up in memory (the cause of ws#1369-style fragmentation).
 */
export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError('concurrencyLimit must be at least 1');
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running += 1;
    try {
      return await job();
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }
}
