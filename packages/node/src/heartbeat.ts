/**
 * One timer for many connections: a sweep every half of the shortest period checks who has
 * been silent too long, pings it, and ends those that never answered. A per-connection timer
 * would cost memory per socket and a timer reset per message; the sweep costs neither.
 */
export interface HeartbeatSettings {
  /** Ping a connection that has sent nothing for this long (ms, 0 = never). */
  readonly interval: number;
  /** Terminate a connection that has not answered a ping within this long (ms). */
  readonly timeout: number;
  /** Close (1001) a connection that has sent no message for this long (ms, 0 = never). */
  readonly idleTimeout: number;
}

export interface HeartbeatTarget {
  /** When the peer last sent any bytes (pongs included). */
  readonly lastReceivedAt: number;
  /** When the peer last sent a data message. */
  readonly lastMessageAt: number;
  /** Reading is paused by the application's own backpressure: the peer is not to blame. */
  readonly readPaused: boolean;
  /** When the monitor last pinged this target (0: never). Kept on the target: no map entry per connection. */
  pingSentAt: number;
  heartbeatPing(): void;
  heartbeatExpired(): void;
  idleExpired(): void;
}

export class HeartbeatMonitor {
  private readonly targets = new Set<HeartbeatTarget>();
  private timer: NodeJS.Timeout | undefined;
  private readonly period: number;

  constructor(private readonly settings: HeartbeatSettings) {
    const periods = [settings.interval, settings.interval > 0 ? settings.timeout : 0, settings.idleTimeout].filter((p) => p > 0);
    this.period = periods.length === 0 ? 0 : Math.max(5, Math.floor(Math.min(...periods) / 2));
  }

  get enabled(): boolean {
    return this.period > 0;
  }

  add(target: HeartbeatTarget): void {
    if (!this.enabled) return;
    target.pingSentAt = 0;
    this.targets.add(target);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.period);
      this.timer.unref();
    }
  }

  delete(target: HeartbeatTarget): void {
    if (!this.targets.delete(target) || this.targets.size > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.targets.clear();
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sweep(): void {
    const now = Date.now();
    const { interval, timeout, idleTimeout } = this.settings;
    for (const target of this.targets) {
      if (idleTimeout > 0 && now - target.lastMessageAt >= idleTimeout) {
        target.idleExpired();
        continue;
      }
      if (interval <= 0 || target.readPaused) continue;
      const answered = target.pingSentAt === 0 || target.lastReceivedAt >= target.pingSentAt;
      if (!answered) {
        if (now - target.pingSentAt >= timeout) target.heartbeatExpired();
      } else if (now - target.lastReceivedAt >= interval) {
        target.pingSentAt = now;
        target.heartbeatPing();
      }
    }
  }
}
