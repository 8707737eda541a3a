/**
 * One connection's view of one topic: which seq it has accounted for, what waits while its
 * history is replayed, and what the slow-consumer policy did. It is the only place that
 * writes stamped frames (and the skips standing in for them) to a connection, so the
 * "in order, no gap, no duplicate" rule lives here alone.
 */
import { CloseCode, prepareMessage } from '@switchyard/codec';
import type { PeerConnection, PreparedMessage } from '@switchyard/codec';
import type { BrokerEntry, HistoryRead } from './broker.js';
import { gapFrameText, positionFrameText, resyncFrameText, skipFrameText, stampedFrameText } from './frames.js';
import type { BatchedPeer } from './write-batch.js';

export type SlowConsumerPolicy = 'drop-with-gap' | 'close';

export interface DeliveryLimits {
  /** A frame is not written while the connection already holds this many unsent bytes. */
  readonly maxBufferedBytes: number;
  readonly policy: SlowConsumerPolicy;
  /** Live entries held while history is replayed; beyond it they are treated as dropped. */
  readonly maxPending: number;
}

/** The connection side a subscription writes to. */
export interface SubscriberPeer extends BatchedPeer {
  readonly id: string;
  readonly peer: PeerConnection;
  /** Set once the connection closed or the hub closed it; nothing is written after. */
  closed: boolean;
}

/** A frame for an entry, prepared on first use and shared by every subscriber of a node. */
export type FrameSource = () => PreparedMessage;

/** What a subscription tells the hub that holds it. */
export interface SubscriptionOwner {
  /** A dropped range waits for room to be announced: retry it later. */
  unreportedGap(subscription: Subscription): void;
  /** A write found the connection closed (its `close` event may have come before the hub saw it). */
  peerClosed(subscriber: SubscriberPeer): void;
  /** Called before every write: the connection's writes of this turn leave together. */
  hold(subscriber: SubscriberPeer): void;
}

export const SLOW_CONSUMER_CLOSE_REASON = 'slow consumer';
/** How often a paced replay looks whether the connection drained. */
const REPLAY_POLL_MS = 5;

export class Subscription {
  /** The last seq this connection has accounted for: written, skipped or reported lost. */
  lastSeq: number | undefined;
  #replaying = false;
  #pending: Array<readonly [BrokerEntry, FrameSource]> | undefined;
  #pendingOverflow: { from: number; to: number } | undefined;
  /** Dropped seqs not yet announced with a gap frame. */
  #unreported: { from: number; to: number } | undefined;

  constructor(
    readonly topic: string,
    readonly subscriber: SubscriberPeer,
    private readonly limits: DeliveryLimits,
    private readonly owner: SubscriptionOwner,
  ) {}

  /** A live entry from the node, in seq order. */
  offer(entry: BrokerEntry, frame: FrameSource): void {
    if (this.#replaying) {
      const pending = (this.#pending ??= []);
      if (pending.length < this.limits.maxPending) pending.push([entry, frame]);
      else this.#pendingOverflow = { from: this.#pendingOverflow?.from ?? entry.seq, to: entry.seq };
      return;
    }
    this.#deliver(entry, frame);
  }

  /** From now until `finishReplay`, live entries wait so they follow the replayed ones. */
  beginReplay(): void {
    this.#replaying = true;
  }

  /**
   * Writes what the history read returned for `after`, then the live entries that arrived
   * meanwhile, skipping those the replay already covered (dedupe by seq).
   */
  async finishReplay(read: HistoryRead, after: number, announce = false, reread?: (after: number) => Promise<HistoryRead>): Promise<void> {
    if (!this.#replaying) return;
    if (read.kind === 'complete') {
      this.lastSeq = after;
      // A subscription from the head: the client keeps this position before any message comes.
      if (announce) this.#write(positionFrameText(this.topic, { seq: after, epoch: read.epoch, id: read.anchor }));
      let entries = read.entries;
      for (;;) {
        for (const entry of entries) {
          const frame = prepareMessage(stampedFrameText(entry));
          // Paced by the connection: a reading client gets the whole backlog, never a gap for it.
          if (this.limits.policy === 'drop-with-gap' && !(await this.#room(frame.byteLength))) break;
          this.#deliver(entry, () => frame);
        }
        // Live entries beyond the hold are still in history: read them instead of dropping them.
        if (!this.#pendingOverflow || !reread || this.subscriber.closed) break;
        this.#pending = undefined;
        this.#pendingOverflow = undefined;
        let next: HistoryRead;
        try {
          next = await reread(this.lastSeq ?? after);
        } catch {
          break;
        }
        if (next.kind === 'unknown' || next.epoch !== read.epoch) {
          // The stream was reset while the backlog was read: what follows is another numbering.
          this.#write(resyncFrameText(this.topic));
          this.#write(positionFrameText(this.topic, { seq: next.head, epoch: next.epoch, id: next.headId }));
          this.lastSeq = next.head;
          break;
        }
        if (next.kind === 'truncated') this.reportLossWhileReplaying(next.from, next.to);
        entries = next.entries;
      }
    } else {
      this.#write(resyncFrameText(this.topic));
      // The client forgets its seq and starts again from the head, which it is told.
      this.#write(positionFrameText(this.topic, { seq: read.head, epoch: read.epoch, id: read.headId }));
      this.lastSeq = read.head;
    }
    this.#drainPending();
  }

  /** During a paced replay: entries `from…to` left history meanwhile; announced as a gap. */
  reportLossWhileReplaying(from: number, to: number): void {
    if (this.lastSeq !== undefined && to <= this.lastSeq) return;
    const start = this.lastSeq !== undefined ? Math.max(from, this.lastSeq + 1) : from;
    this.#markDropped(start, to);
    this.lastSeq = to;
    this.flushGap(Number.POSITIVE_INFINITY);
  }

  /** Waits until the connection has room for `bytes` more (false once it is closed). */
  async #room(bytes: number): Promise<boolean> {
    for (;;) {
      if (this.subscriber.closed) return false;
      const buffered = this.subscriber.peer.bufferedAmount;
      if (buffered === 0 || buffered + bytes <= this.limits.maxBufferedBytes) return true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, REPLAY_POLL_MS);
        // A replay waiting on a stalled connection does not keep the process alive.
        (timer as { unref?: () => void }).unref?.();
      });
    }
  }

  /**
   * The replay could not run (the broker is down); live entries flow again, unreplayed. A
   * subscription that had nothing to replay (`silent`) is not told to resync: it missed nothing.
   */
  abortReplay(silent = false): void {
    if (!this.#replaying) return;
    if (!silent) this.#write(resyncFrameText(this.topic));
    this.lastSeq = undefined;
    this.#drainPending();
  }

  /**
   * Entries `from…to` will never reach this connection (the node missed them and history no
   * longer has them): they are announced as a gap, then delivery goes on.
   */
  reportLoss(from: number, to: number): void {
    // A replay in progress reads history itself and accounts for this range.
    if (this.#replaying) return;
    if (this.lastSeq !== undefined && to <= this.lastSeq) return;
    const start = this.lastSeq !== undefined ? Math.max(from, this.lastSeq + 1) : from;
    this.#markDropped(start, to);
    this.lastSeq = to;
    this.flushGap();
  }

  /** The topic's numbering restarted (broker data lost): the client must reload it. */
  resync(): void {
    if (this.#replaying) return;
    this.#unreported = undefined;
    this.#write(resyncFrameText(this.topic));
    this.lastSeq = undefined;
  }

  /**
   * Announce a dropped range if the connection has drained below `limit` bytes (by default
   * half the bound, so a consumer hovering at the bound is not sent a gap per message);
   * true when nothing is left to announce.
   */
  flushGap(limit = this.limits.maxBufferedBytes / 2): boolean {
    const range = this.#unreported;
    if (!range) return true;
    if (this.subscriber.closed) return true;
    if (this.subscriber.peer.bufferedAmount > limit) return false;
    this.#unreported = undefined;
    this.#write(gapFrameText(this.topic, range.from, range.to));
    return true;
  }

  #drainPending(): void {
    const pending = this.#pending ?? [];
    const overflow = this.#pendingOverflow;
    this.#pending = undefined;
    this.#pendingOverflow = undefined;
    this.#replaying = false;
    for (const [entry, frame] of pending) this.#deliver(entry, frame);
    if (overflow) {
      for (let seq = Math.max(overflow.from, (this.lastSeq ?? 0) + 1); seq <= overflow.to; seq++) this.#overflow(seq);
    }
  }

  #deliver(entry: BrokerEntry, frame: FrameSource): void {
    if (this.subscriber.closed) return;
    if (this.lastSeq !== undefined && entry.seq <= this.lastSeq) return;
    // The connection the entry was published except gets a skip in the entry's place, so its
    // client counts the seq without seeing a jump. The skip obeys the same bound as a message:
    // a sender that stops reading cannot pile up skips for every line it sends.
    const prepared = entry.except === this.subscriber.id ? prepareMessage(skipFrameText(this.topic, entry.seq, entry.epoch, entry.id)) : frame();
    const buffered = this.subscriber.peer.bufferedAmount;
    // An idle connection always takes the frame, so a message larger than the bound still
    // reaches consumers that keep up; the bound is then "max plus one frame".
    if (buffered > 0 && buffered + prepared.byteLength > this.limits.maxBufferedBytes) {
      this.#overflow(entry.seq);
      return;
    }
    if (!this.flushGap(Math.max(0, this.limits.maxBufferedBytes - prepared.byteLength))) {
      this.#overflow(entry.seq);
      return;
    }
    this.owner.hold(this.subscriber);
    const result = this.subscriber.peer.sendPrepared(prepared);
    if (result.status === 'dropped') {
      if (result.reason === 'high-water-mark') this.#overflow(entry.seq);
      else this.#peerClosed();
      return;
    }
    this.lastSeq = entry.seq;
  }

  #overflow(seq: number): void {
    if (this.limits.policy === 'close') {
      this.subscriber.closed = true;
      this.subscriber.peer.close(CloseCode.TryAgainLater, SLOW_CONSUMER_CLOSE_REASON);
      return;
    }
    this.#markDropped(seq, seq);
    this.lastSeq = seq;
  }

  #markDropped(from: number, to: number): void {
    const wasEmpty = this.#unreported === undefined;
    this.#unreported = { from: this.#unreported?.from ?? from, to };
    if (wasEmpty) this.owner.unreportedGap(this);
  }

  /** Control frames (gap, resync) are tiny and rare; they may exceed the bound by their size. */
  #write(text: string): void {
    if (this.subscriber.closed) return;
    this.owner.hold(this.subscriber);
    const result = this.subscriber.peer.send(text);
    if (result.status === 'dropped' && result.reason === 'closed') this.#peerClosed();
  }

  #peerClosed(): void {
    if (this.subscriber.closed) return;
    this.subscriber.closed = true;
    this.owner.peerClosed(this.subscriber);
  }
}
