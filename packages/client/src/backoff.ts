export interface BackoffOptions {
  /** Upper bound of the first retry's delay, in ms. */
  readonly initialDelay: number;
  /** Growth of the upper bound per failed attempt. */
  readonly factor: number;
  /** Cap of the upper bound, in ms. */
  readonly maxDelay: number;
}

/**
 * "Full jitter": a uniformly random delay in [0, min(maxDelay, initialDelay · factor^(n-1))),
 * drawn afresh for every attempt. `attempts` counts the attempts made since the connection
 * was last stable (0 right after a stable connection dropped, which retries like 1).
 * Spreading even the first retry over [0, initialDelay) keeps a server restart from
 * bringing every client back in the same instant.
 */
export function backoffDelay(attempts: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelay, options.initialDelay * options.factor ** Math.max(0, attempts - 1));
  return Math.floor(random() * ceiling);
}
