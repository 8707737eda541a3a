/**
 * One topic on one node: the local subscribers and the node's place in the topic's order.
 * Entries reach the node in seq order from the broker; this is where a missed one is noticed
 * (a jump) and fetched back from history before anything later is passed on, so every local
 * subscriber sees the same contiguous sequence.
 */
import { prepareMessage } from '@switchyard/codec';
import type { PreparedMessage } from '@switchyard/codec';
import type { BrokerEntry, HistoryRead } from './broker.js';
import { stampedFrameText } from './frames.js';
import type { Subscription } from './subscription.js';

export interface ChannelHistory {
  readAfter(topic: string, after: number): Promise<HistoryRead>;
  raiseFloor(topic: string, floor: number): Promise<void>;
}

export class TopicChannel {
  readonly subscriptions = new Map<string, Subscription>();
  /** The last seq passed on to subscribers. */
  lastSeq: number | undefined;
  /** The stream epoch `lastSeq` belongs to (brokers with epochs). */
  epoch: string | undefined;
  /** Resolves once the broker delivers every later entry of the topic to this node. */
  ready: Promise<void> = Promise.resolve();
  #catchingUp = false;
  #buffer: BrokerEntry[] = [];
  #bufferOverflow = false;
  /** A data loss was reported while a catch-up was running: restart once it is done. */
  #restartPending = false;

  constructor(
    readonly topic: string,
    private readonly history: ChannelHistory,
    private readonly maxBuffered: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  receive(entry: BrokerEntry): void {
    if (this.#catchingUp) {
      if (this.#buffer.length < this.maxBuffered) this.#buffer.push(entry);
      else this.#bufferOverflow = true;
      return;
    }
    if (entry.epoch !== undefined && this.epoch !== undefined && entry.epoch !== this.epoch) {
      // A new numbering of the topic began (the broker lost or rolled back data): the seqs the
      // subscribers hold name other messages now; each is told to resync.
      this.#resyncAll();
    }
    if (entry.epoch !== undefined) this.epoch = entry.epoch;
    if (this.lastSeq !== undefined && entry.seq <= this.lastSeq) return;
    if (this.lastSeq !== undefined && entry.seq > this.lastSeq + 1) {
      this.#buffer.push(entry);
      this.catchUp();
      return;
    }
    this.#dispatch(entry);
  }

  /**
   * Fetch from history whatever this node may have missed since `lastSeq` (after a jump, or
   * after the broker connection came back), then go on with what arrived meanwhile.
   */
  catchUp(): void {
    if (this.#catchingUp) return;
    const after = this.lastSeq;
    if (after === undefined) {
      this.#flushBuffer();
      return;
    }
    this.#catchingUp = true;
    this.history.readAfter(this.topic, after).then(
      (read) => this.#finishCatchUp(read, after),
      (error: unknown) => {
        this.onError(error);
        // History is unreachable: what was missed cannot be known, so say so.
        this.#resyncAll();
        this.#catchingUp = false;
        this.#flushBuffer();
      },
    )
      .catch(this.onError);
  }

  /**
   * The broker lost its data: what was missed cannot be known. Numbering is raised above what
   * this node's subscribers saw, then each is told to resync; entries arriving meanwhile wait.
   */
  restartNumbering(): void {
    const after = this.lastSeq;
    if (after === undefined || this.#catchingUp) {
      if (after !== undefined) this.#restartPending = true;
      return;
    }
    this.#catchingUp = true;
    void this.#finishCatchUp({ kind: 'unknown', head: 0 }, after);
  }

  async #finishCatchUp(read: HistoryRead, after: number): Promise<void> {
    const epochChanged = read.epoch !== undefined && this.epoch !== undefined && read.epoch !== this.epoch;
    if (read.kind === 'unknown' || epochChanged) {
      // The broker lost its data: numbering must go on above what clients have seen before
      // anyone is told to resync, or a publish from another node could reuse their seqs.
      await this.history.raiseFloor(this.topic, after).catch(this.onError);
      this.#resyncAll();
      this.epoch = read.epoch;
    } else {
      if (read.epoch !== undefined) this.epoch = read.epoch;
      if (read.kind === 'truncated') {
        for (const subscription of this.subscriptions.values()) subscription.reportLoss(read.from, read.to);
        this.lastSeq = read.to;
      }
      for (const entry of read.entries) if (entry.seq > (this.lastSeq ?? 0)) this.#dispatch(entry);
    }
    this.#catchingUp = false;
    if (this.#restartPending) {
      this.#restartPending = false;
      this.restartNumbering();
      return;
    }
    this.#flushBuffer();
  }

  #resyncAll(): void {
    this.lastSeq = undefined;
    // The next numbering is taken as it comes (its epoch is adopted without another resync).
    this.epoch = undefined;
    for (const subscription of this.subscriptions.values()) subscription.resync();
  }

  #flushBuffer(): void {
    const buffered = this.#buffer;
    const overflow = this.#bufferOverflow;
    this.#buffer = [];
    this.#bufferOverflow = false;
    buffered.sort((a, b) => a.seq - b.seq);
    // `receive` buffers again by itself if one of these entries starts another catch-up.
    for (const entry of buffered) this.receive(entry);
    // What did not fit is still in history: fetch it like any other miss.
    if (overflow && !this.#catchingUp) this.catchUp();
  }

  #dispatch(entry: BrokerEntry): void {
    this.lastSeq = entry.seq;
    let prepared: PreparedMessage | undefined;
    const frame = (): PreparedMessage => (prepared ??= prepareMessage(stampedFrameText(entry)));
    for (const subscription of this.subscriptions.values()) subscription.offer(entry, frame);
  }
}
