// A per-connection token bucket. Each incoming message takes one token; tokens come back at
// a steady rate up to a burst size. A message without a token is refused with an error, and
// every refusal adds to a "strikes" level that drains over time: a client that keeps
// pushing past its limit (not one that bursts once) is disconnected with 1008.

export interface RateLimitOptions {
  /** Tokens available at once (the burst a client may send). */
  burst: number;
  /** Tokens returned per second (the sustained rate). */
  perSecond: number;
  /** Refusals tolerated before the connection is closed… */
  maxStrikes: number;
  /** …where each refusal drains away after this many seconds on average. */
  strikeDecayPerSecond: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = {
  burst: 20,
  perSecond: 5,
  maxStrikes: 30,
  strikeDecayPerSecond: 1,
};

export type RateDecision = 'allow' | 'refuse' | 'disconnect';

export class TokenBucket {
  private tokens: number;
  private strikes = 0;
  private last: number;

  constructor(
    private readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = options.burst;
    this.last = now();
  }

  take(): RateDecision {
    const now = this.now();
    const elapsedSeconds = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.options.burst, this.tokens + elapsedSeconds * this.options.perSecond);
    this.strikes = Math.max(0, this.strikes - elapsedSeconds * this.options.strikeDecayPerSecond);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'allow';
    }
    this.strikes += 1;
    return this.strikes > this.options.maxStrikes ? 'disconnect' : 'refuse';
  }
}
