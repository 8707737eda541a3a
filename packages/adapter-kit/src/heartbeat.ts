/**
 * One timer for many connections: a sweep every half of the shortest heartbeat period visits
 * each connection, which pings a silent peer, ends one that never answered, or closes one idle
 * for too long. A timer per connection would cost a timer object and its closure on every idle
 * socket; the sweep costs one set entry.
 */
export interface HeartbeatSettings {
  /** Ping a peer that has sent nothing for this long (ms, 0 = never). */
  readonly heartbeatInterval: number;
  /** Terminate a peer that has not answered a ping within this long (ms). */
  readonly heartbeatTimeout: number;
  /** Close (1001) a peer that has sent no message for this long (ms, 0 = never). */
  readonly idleTimeout: number;
  /** Destroy a connection whose peer took none of our waiting bytes for this long (ms, 0 = never). */
  readonly writeStallTimeout?: number;
}

/** How often a sweep runs for these settings; 0 when there is nothing to watch. */
export function sweepPeriod(settings: HeartbeatSettings): number {
  const { heartbeatInterval, heartbeatTimeout, idleTimeout } = settings;
  let shortest = Number.POSITIVE_INFINITY;
  if (heartbeatInterval > 0) shortest = Math.min(shortest, heartbeatInterval, heartbeatTimeout > 0 ? heartbeatTimeout : heartbeatInterval);
  if (idleTimeout > 0) shortest = Math.min(shortest, idleTimeout);
  const stall = settings.writeStallTimeout ?? 0;
  if (stall > 0) shortest = Math.min(shortest, stall);
  return shortest === Number.POSITIVE_INFINITY ? 0 : Math.max(5, Math.floor(shortest / 2));
}

export class HeartbeatMonitor<Target> {
  readonly #targets = new Set<Target>();
  readonly #period: number;
  readonly #check: (target: Target, now: number) => void;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `check` runs for every watched target at every sweep, with the sweep's clock reading. */
  constructor(period: number, check: (target: Target, now: number) => void) {
    this.#period = period;
    this.#check = check;
  }

  add(target: Target): void {
    this.#targets.add(target);
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#sweep(), this.#period);
    // The sweep alone must not keep a process alive (Node and Bun; Deno's timers have no unref).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  delete(target: Target): void {
    if (!this.#targets.delete(target) || this.#targets.size > 0 || this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sweep(): void {
    const now = Date.now();
    // A check may close its connection, which deletes itself: a Set's iteration allows that.
    for (const target of this.#targets) this.#check(target, now);
  }
}
