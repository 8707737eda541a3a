/**
 * Bounds how many compression jobs run at once across the connections sharing it: zlib work
 * runs on a small thread pool (libuv's in Node), and thousands of parallel jobs only queue there
 * while their buffers pile up in memory (the cause of ws#1369-style fragmentation). A burst of
 * compressed messages queues here instead, where a waiting job costs a closure.
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

const clientLimiters = new Map<number, ConcurrencyLimiter>();

/**
 * The limiter of every client connection of this process that asked for `limit` concurrent zlib
 * jobs: as in ws, the bound is process-wide, since what it protects (memory and threads of
 * zlib) is the process's, however many sockets share it.
 */
export function clientCompressionLimiter(limit: number): ConcurrencyLimiter {
  let limiter = clientLimiters.get(limit);
  if (limiter === undefined) clientLimiters.set(limit, (limiter = new ConcurrencyLimiter(limit)));
  return limiter;
}
