/**
 * Fan-out batched per event-loop turn. A burst of messages to a topic would otherwise cost one
 * socket write per message and subscriber, and on loopback or a busy server that system call,
 * not the hub's JavaScript, is nearly all the cost of a delivery. The first frame the hub writes
 * to a connection in a turn corks it (`PeerConnection.cork`); at the end of the turn every
 * corked connection is uncorked, so everything the turn sent it leaves in one write.
 *
 * Order is untouched: a corked connection still accepts every send in call order (the hub's and
 * the application's alike), it only defers the system call. Decisions that read
 * `bufferedAmount` (the slow-consumer bound) see the held bytes, so the bound holds as before.
 */

/** The connection side the batch corks. */
export interface BatchedPeer {
  readonly peer: {
    readonly bufferedAmount: number;
    cork?(): void;
    uncork?(): void;
  };
  /** `bufferedAmount` when the batch corked the connection; undefined while it is not corked. */
  corkedAt: number | undefined;
}

/**
 * A connection's held bytes beyond this are written at once, mid-turn: a large burst still
 * leaves in writes of this size, and the hub never holds much more than this per connection
 * on top of what the socket already buffers.
 */
export const MAX_BATCH_BYTES = 64 * 1024;

type Schedule = (flush: () => void) => void;

/**
 * After the current turn's I/O callbacks, microtasks included, so deliveries made by several
 * awaited publishes or by many broker messages of one socket read share the write.
 */
const afterThisTurn: Schedule =
  typeof setImmediate === 'function' ? (flush) => void setImmediate(flush) : (flush) => void setTimeout(flush, 0);

export class WriteBatch {
  #held: BatchedPeer[] = [];
  #scheduled = false;
  readonly #onError: (error: unknown) => void;
  readonly #schedule: Schedule;

  constructor(onError: (error: unknown) => void, schedule: Schedule = afterThisTurn) {
    this.#onError = onError;
    this.#schedule = schedule;
  }

  /** Call before writing to a connection: corks it for the rest of the turn. */
  hold(subscriber: BatchedPeer): void {
    const peer = subscriber.peer;
    if (subscriber.corkedAt !== undefined) {
      if (peer.bufferedAmount - subscriber.corkedAt < MAX_BATCH_BYTES) return;
      // Enough for one large write: let it go now and hold what follows.
      peer.uncork?.();
      peer.cork?.();
      subscriber.corkedAt = peer.bufferedAmount;
      return;
    }
    if (peer.cork === undefined || peer.uncork === undefined) return;
    peer.cork();
    subscriber.corkedAt = peer.bufferedAmount;
    this.#held.push(subscriber);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(() => this.flush());
    }
  }

  /** Uncorks every connection held this turn (also when the hub closes). */
  flush(): void {
    this.#scheduled = false;
    const held = this.#held;
    if (held.length === 0) return;
    this.#held = [];
    for (let i = 0; i < held.length; i++) {
      const subscriber = held[i] as BatchedPeer;
      subscriber.corkedAt = undefined;
      try {
        subscriber.peer.uncork?.();
      } catch (error) {
        // One connection's failing write must not keep the others corked.
        this.#onError(error);
      }
    }
  }
}
