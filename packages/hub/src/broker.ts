/**
 * The contract between the hub and the engine that orders, stores and spreads messages.
 * A broker owns three things the hub cannot do alone once there is more than one process:
 * the per-topic sequence numbers (one total order per topic), the bounded history replay
 * reads from, and presence shared across nodes. The hub owns connections and delivery.
 */

/** One published message as every node sees it, with the sequence number the broker gave it. */
export interface BrokerEntry {
  readonly topic: string;
  /** 1, 2, 3 … per topic; gaps only where numbering was re-seeded after the broker lost data. */
  readonly seq: number;
  /** The event type carried in the stamped frame. */
  readonly type: string;
  /** The payload, already serialized as JSON (`undefined` when the event has no payload). */
  readonly data: string | undefined;
  /** The publisher's clock (the hub's `now()`), in ms; history age is judged by it. */
  readonly publishedAt: number;
  /** A connection id that must not receive this entry (publish to a topic except the sender). */
  readonly except: string | undefined;
  /**
   * The stream epoch this seq belongs to. Within one epoch a seq names one message only; a
   * broker starts a new epoch whenever it cannot vouch for that (its data was lost or rolled back).
   */
  readonly epoch?: string | undefined;
  /** The entry's id, unique within the topic: a resume names it so a reused seq is caught. */
  readonly id?: string | undefined;
}

/** A place in a topic's stream (see `StreamPosition` in @switchyard/wire). */
export interface BrokerPosition {
  readonly seq: number;
  readonly epoch?: string | undefined;
  readonly id?: string | undefined;
}

export interface PublishRequest {
  readonly topic: string;
  readonly type: string;
  readonly data: string | undefined;
  readonly publishedAt: number;
  readonly except: string | undefined;
  /**
   * The highest seq this node has seen for the topic. A broker that lost its data (a Redis
   * restart without persistence) continues numbering above it, so clients' last seen seqs
   * stay meaningful.
   */
  readonly floor: number;
}

/**
 * What the history holds after a given seq.
 * - `complete`: exactly the entries `after + 1 … head`, in order (empty when `after === head`).
 * - `truncated`: some entries after `after` are gone (count or age limit); `entries` are the
 *   retained ones (from `oldest` to `head`), `from…to` the lost range.
 * - `unknown`: `after` is beyond the head: the numbering the caller knows is not this
 *   broker's (its data was lost or the process restarted).
 */
export type HistoryRead = (
  | { readonly kind: 'complete'; readonly head: number; readonly entries: readonly BrokerEntry[] }
  | { readonly kind: 'truncated'; readonly head: number; readonly from: number; readonly to: number; readonly entries: readonly BrokerEntry[] }
  | { readonly kind: 'unknown'; readonly head: number }
) & {
  /** The topic's current epoch (brokers with epochs). */
  readonly epoch?: string | undefined;
  /** The id of the retained entry at seq `after`, if history still holds it. */
  readonly anchor?: string | undefined;
  /** The id of the entry at the head, if history holds it. */
  readonly headId?: string | undefined;
};

export interface HistoryOptions {
  /** Entries kept per topic. */
  readonly maxCount: number;
  /** Entries older than this (by `publishedAt` against `now()`) are not replayed. */
  readonly maxAgeMs: number;
}

/** A member of a topic's presence set. `id` is the hub connection id (unique across nodes). */
export interface PresenceMember<Meta> {
  readonly id: string;
  readonly nodeId: string;
  readonly meta: Meta;
}

export type PresenceLeaveReason = 'left' | 'disconnected' | 'expired';

export type PresenceChange<Meta> =
  | { readonly type: 'join'; readonly topic: string; readonly member: PresenceMember<Meta> }
  | { readonly type: 'update'; readonly topic: string; readonly member: PresenceMember<Meta> }
  | { readonly type: 'leave'; readonly topic: string; readonly member: PresenceMember<Meta>; readonly reason: PresenceLeaveReason };

/**
 * - `up`: the broker can order and deliver. `resumed: true` when this follows a `down`:
 *   live messages may have been missed meanwhile and the hub checks every topic against history.
 *   `dataLost: true` when the broker came back without its data (a Redis restarted without
 *   persistence): history cannot tell what was missed, so every subscriber is told to resync.
 * - `down`: publishes fail with `BrokerUnavailableError` until `up`.
 */
export type BrokerStatus =
  | { readonly state: 'up'; readonly resumed: boolean; readonly dataLost: boolean }
  | { readonly state: 'down'; readonly error: Error | undefined };

/** What the hub hands its broker when it starts: settings, clock and where to report. */
export interface BrokerContext {
  readonly nodeId: string;
  readonly history: HistoryOptions;
  readonly presenceTtlMs: number;
  now(): number;
  /** Every entry of a subscribed topic, in seq order per topic, from any node. */
  onEntry(entry: BrokerEntry): void;
  onPresence(change: PresenceChange<unknown>): void;
  onStatus(status: BrokerStatus): void;
}

/**
 * A broker is a factory of sessions: each hub (a "node") connects once and talks to the
 * broker through its own session, so one broker value can serve several hubs in a process.
 */
export interface Broker {
  connect(context: BrokerContext): Promise<BrokerSession>;
}

export interface BrokerSession {
  /** Assign the next seq of the topic, store the entry in history and deliver it to every subscribed node. */
  publish(request: PublishRequest): Promise<BrokerEntry>;
  /** Start receiving `onEntry` for the topic; resolves once no later entry can be missed. */
  subscribe(topic: string): Promise<void>;
  unsubscribe(topic: string): Promise<void>;
  /** The retained entries of the topic with a seq greater than `after`. */
  readAfter(topic: string, after: number): Promise<HistoryRead>;
  /** Ensure the topic's numbering continues above `floor` (after the broker lost its data). */
  raiseFloor(topic: string, floor: number): Promise<void>;
  presenceJoin(topic: string, member: PresenceMember<unknown>): Promise<void>;
  presenceLeave(topic: string, memberId: string, reason: PresenceLeaveReason): Promise<void>;
  presenceList(topic: string): Promise<ReadonlyArray<PresenceMember<unknown>>>;
  /** Leave: this node's presence members are removed, its subscriptions dropped, connections released. */
  close(): Promise<void>;
}
