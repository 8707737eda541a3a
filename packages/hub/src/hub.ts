/**
 * The hub: connections subscribe to topics, publishes are numbered by the broker and fanned
 * out to every local subscriber with one encoded frame, resumes replay exactly what was
 * missed. It knows connections only through the adapter-neutral `PeerConnection`.
 */
import { parseClientFrame } from '@switchyard/wire';
import type { ProtocolShape, ServerMessages, ServerMessageType } from '@switchyard/client';
import type { PeerConnection, SendResult } from '@switchyard/codec';
import type { Broker, BrokerEntry, BrokerSession, BrokerStatus, PresenceChange, PresenceLeaveReason, PresenceMember } from './broker.js';
import { assertTopic, HubClosedError } from './errors.js';
import { eventFrameText, serializePayload } from './frames.js';
import { verifyPosition } from './history.js';
import { MemoryBroker } from './memory-broker.js';
import { resolveOptions, type HubOptions, type ResolvedHubOptions, type UntypedProtocol } from './options.js';
import {
  Subscription,
  type DeliveryLimits,
  type SlowConsumerPolicy,
  type SubscriberPeer,
  type SubscriptionOwner,
} from './subscription.js';
import { TopicChannel } from './topic-channel.js';
import { WriteBatch } from './write-batch.js';

export interface PublishOptions {
  /** Every subscriber but this connection receives the message (e.g. the sender of a chat line). */
  readonly except?: PeerConnection;
}

export interface Published {
  readonly topic: string;
  readonly seq: number;
}

export interface SubscribeOptions {
  /** The last seq the client saw: what came after it is replayed first. Default: live only. */
  readonly after?: number;
  /**
   * The epoch and entry id of `after`, as the client received them. When given, a replay
   * happens only if they are those of the topic's stream; otherwise the client gets `resync`.
   */
  readonly epoch?: string;
  readonly id?: string;
}

/** Where a subscription started: the topic's position then (what the client was sent as `pos`). */
export interface SubscribePosition {
  readonly topic: string;
  readonly seq: number;
  readonly epoch?: string | undefined;
  readonly id?: string | undefined;
}

/** One retained message, as `history` returns it (the payload parsed back from JSON). */
export interface HistoryMessage {
  readonly seq: number;
  readonly epoch?: string | undefined;
  readonly id?: string | undefined;
  readonly type: string;
  readonly data: unknown;
  readonly publishedAt: number;
}

/**
 * What a client that saw up to `after` is owed, for transports other than a hub connection
 * (an HTTP long-polling fallback): `messages` when they are all still retained, `resync`
 * when some are gone (or `after` is from another numbering). `head` is the topic's last seq.
 */
export type HistoryResult =
  | { readonly kind: 'messages'; readonly head: number; readonly epoch?: string | undefined; readonly messages: readonly HistoryMessage[] }
  | { readonly kind: 'resync'; readonly head: number; readonly epoch?: string | undefined };

export interface HubEvents<Meta> {
  /** A member joined, updated its metadata or left a topic's presence, on any node. */
  presence: PresenceChange<Meta>;
  /** The broker went down or came back. */
  broker: BrokerStatus;
  /** A failure in background work (a broker call nobody awaited). */
  error: unknown;
}

export interface HubPresence<Meta> {
  /** Adds (or updates) the connection in the topic's presence with its metadata. */
  join(peer: PeerConnection, topic: string, meta: Meta): Promise<void>;
  leave(peer: PeerConnection, topic: string): Promise<void>;
  /** Everyone present in the topic, on every node. */
  list(topic: string): Promise<ReadonlyArray<PresenceMember<Meta>>>;
}

export interface Hub<P extends ProtocolShape = UntypedProtocol, Meta = unknown, Topic extends string = string> {
  readonly nodeId: string;
  /** Resolves when the broker is connected (calls made before wait for it). */
  readonly ready: Promise<void>;
  /** Registers the connection (done implicitly by every other call) and returns its hub id. */
  attach(peer: PeerConnection): string;
  /**
   * Offer a received message to the hub. Returns true when it was the hub's (a `resume`),
   * false when it belongs to the app. Accepts the text of a frame or an already decoded value.
   */
  handle(peer: PeerConnection, message: unknown): boolean;
  /**
   * Subscribes the connection. Resolves with the position the subscription starts from (the
   * topic's head, or the client's resume point), which the client is also sent as a `pos`
   * frame; `undefined` when the connection was already subscribed or closed.
   */
  subscribe(peer: PeerConnection, topic: Topic, options?: SubscribeOptions): Promise<SubscribePosition | undefined>;
  unsubscribe(peer: PeerConnection, topic: Topic): void;
  /** Topics the connection is subscribed to. */
  topicsOf(peer: PeerConnection): Topic[];
  /** Subscribed connections on this node. */
  localSubscriberCount(topic: Topic): number;
  publish<K extends ServerMessageType<P>>(
    topic: Topic,
    type: K,
    data: ServerMessages<P>[K],
    options?: PublishOptions,
  ): Promise<Published>;
  /** The retained messages of a topic after `after`, by the same rule a resume follows (with `epoch`/`id`, checked as a resume is). */
  history(topic: Topic, after: number, at?: { readonly epoch?: string; readonly id?: string }): Promise<HistoryResult>;
  /** An unstamped event to one connection of this node. */
  send<K extends ServerMessageType<P>>(peer: PeerConnection, type: K, data: ServerMessages<P>[K]): SendResult;
  readonly presence: HubPresence<Meta>;
  on<E extends keyof HubEvents<Meta>>(event: E, listener: (value: HubEvents<Meta>[E]) => void): () => void;
  /** Leaves the broker (this node's presence is removed); connections stay open. */
  close(): Promise<void>;
}

interface PeerState extends SubscriberPeer {
  cleaned: boolean;
  readonly subscriptions: Map<string, Subscription>;
  /** Created on first use: most connections never join presence or resume. */
  presence: Set<string> | undefined;
  resumePoints: Map<string, ResumePoint> | undefined;
}

interface ResumePoint {
  readonly seq: number;
  readonly epoch?: string | undefined;
  readonly id?: string | undefined;
}

export function createHub<P extends ProtocolShape = UntypedProtocol, Meta = unknown, Topic extends string = string>(
  options: HubOptions<P> = {},
): Hub<P, Meta, Topic> {
  return new HubImpl<P, Meta, Topic>(resolveOptions(options as HubOptions<ProtocolShape>));
}

class HubImpl<P extends ProtocolShape, Meta, Topic extends string> implements Hub<P, Meta, Topic> {
  readonly nodeId: string;
  readonly ready: Promise<void>;
  readonly presence: HubPresence<Meta>;
  readonly #options: ResolvedHubOptions;
  readonly #peers = new WeakMap<PeerConnection, PeerState>();
  readonly #channels = new Map<string, TopicChannel>();
  readonly #brokerOps = new Map<string, Promise<void>>();
  readonly #listeners: { [E in keyof HubEvents<Meta>]: Set<(value: HubEvents<Meta>[E]) => void> } = {
    presence: new Set(),
    broker: new Set(),
    error: new Set(),
  };
  readonly #unannounced = new Set<Subscription>();
  /** Shared by every subscription (one object per policy, not one per subscription). */
  readonly #limits: Readonly<Record<SlowConsumerPolicy, DeliveryLimits>>;
  readonly #owner: SubscriptionOwner;
  readonly #batch = new WriteBatch((error) => this.#emit('error', error));
  #gapTimer: ReturnType<typeof setInterval> | undefined;
  #session: BrokerSession | undefined;
  #connectionCount = 0;
  #closed = false;

  constructor(options: ResolvedHubOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    const limits = (policy: SlowConsumerPolicy): DeliveryLimits => ({
      maxBufferedBytes: options.maxBufferedBytes,
      policy,
      maxPending: options.maxPending,
    });
    this.#limits = { 'drop-with-gap': limits('drop-with-gap'), close: limits('close') };
    this.#owner = {
      unreportedGap: (subscription) => this.#watchGap(subscription),
      peerClosed: (subscriber) => this.#onPeerClose(subscriber as PeerState),
      hold: (subscriber) => this.#batch.hold(subscriber),
    };
    const broker: Broker = options.broker ?? new MemoryBroker();
    this.ready = broker
      .connect({
        nodeId: options.nodeId,
        history: options.history,
        presenceTtlMs: options.presenceTtlMs,
        now: options.now,
        onEntry: (entry) => this.#onEntry(entry),
        onPresence: (change) => this.#emit('presence', change as PresenceChange<Meta>),
        onStatus: (status) => this.#onStatus(status),
      })
      .then((session) => {
        this.#session = session;
      });
    // A failed connect is reported through every call awaiting `ready`; never unhandled.
    this.ready.catch(() => undefined);
    this.presence = {
      join: (peer, topic, meta) => this.#presenceJoin(peer, topic, meta),
      leave: (peer, topic) => this.#presenceLeave(peer, topic),
      list: (topic) => this.#presenceList(topic),
    };
  }

  attach(peer: PeerConnection): string {
    return this.#state(peer).id;
  }

  handle(peer: PeerConnection, message: unknown): boolean {
    let value = message;
    if (typeof message === 'string') {
      // Cheap on app traffic: only texts that can be a resume are parsed here.
      if (!message.includes('"resume"')) return false;
      try {
        value = JSON.parse(message);
      } catch {
        return false;
      }
    }
    const parsed = parseClientFrame(value);
    if (!parsed.ok || parsed.frame.t !== 'resume') return false;
    this.#resume(peer, parsed.frame.streams, parsed.frame.at);
    return true;
  }

  async subscribe(peer: PeerConnection, topic: Topic, options: SubscribeOptions = {}): Promise<SubscribePosition | undefined> {
    assertTopic(topic);
    this.#assertOpen();
    const state = this.#state(peer);
    if (state.closed || state.subscriptions.has(topic)) return undefined;
    const point: ResumePoint | undefined =
      options.after !== undefined ? { seq: options.after, epoch: options.epoch, id: options.id } : state.resumePoints?.get(topic);
    state.resumePoints?.delete(topic);
    const channel = this.#channel(topic);
    const subscription = new Subscription(topic, state, this.#limits[this.#options.policyFor(topic)], this.#owner);
    state.subscriptions.set(topic, subscription);
    channel.subscriptions.set(state.id, subscription);
    // Live entries wait until the position (or the replay) is known, so they come after it.
    subscription.beginReplay();
    try {
      await channel.ready;
    } catch (error) {
      this.#drop(state, topic);
      throw error;
    }
    if (state.subscriptions.get(topic) !== subscription) return undefined;
    let read;
    try {
      // From the head: a read past any seq answers the head, its epoch and its entry id.
      read = await this.#requireSession().readAfter(topic, point?.seq ?? Number.MAX_SAFE_INTEGER);
    } catch (error) {
      subscription.abortReplay(point === undefined);
      this.#emit('error', error);
      return undefined;
    }
    // The node now knows the topic's head: a later jump past it is a loss to repair.
    if (channel.lastSeq === undefined && this.#channels.get(topic) === channel) {
      channel.lastSeq = read.head;
      channel.epoch ??= read.epoch;
    }
    if (point === undefined) {
      const at = { kind: 'complete', head: read.head, entries: [], epoch: read.epoch, anchor: read.headId } as const;
      await subscription.finishReplay(at, read.head, true);
      return { topic, seq: read.head, epoch: read.epoch, id: read.headId };
    }
    const checked = verifyPosition(read, point);
    await subscription.finishReplay(checked, point.seq, false, (after) => this.#requireSession().readAfter(topic, after));
    if (checked.kind === 'complete') return { topic, seq: point.seq, epoch: checked.epoch, id: checked.anchor ?? point.id };
    return { topic, seq: read.head, epoch: read.epoch, id: read.headId };
  }

  unsubscribe(peer: PeerConnection, topic: Topic): void {
    const state = this.#peers.get(peer);
    if (state) this.#drop(state, topic);
  }

  topicsOf(peer: PeerConnection): Topic[] {
    return [...(this.#peers.get(peer)?.subscriptions.keys() ?? [])] as Topic[];
  }

  localSubscriberCount(topic: Topic): number {
    return this.#channels.get(topic)?.subscriptions.size ?? 0;
  }

  async publish<K extends ServerMessageType<P>>(
    topic: Topic,
    type: K,
    data: ServerMessages<P>[K],
    options: PublishOptions = {},
  ): Promise<Published> {
    assertTopic(topic);
    this.#assertOpen();
    const payload = serializePayload(data);
    const except = options.except ? this.#state(options.except).id : undefined;
    await this.ready;
    const entry = await this.#requireSession().publish({
      topic,
      type,
      data: payload,
      publishedAt: this.#options.now(),
      except,
      floor: this.#channels.get(topic)?.lastSeq ?? 0,
    });
    return { topic, seq: entry.seq };
  }

  send<K extends ServerMessageType<P>>(peer: PeerConnection, type: K, data: ServerMessages<P>[K]): SendResult {
    return peer.send(eventFrameText(type, serializePayload(data)));
  }

  async history(topic: Topic, after: number, at: { readonly epoch?: string; readonly id?: string } = {}): Promise<HistoryResult> {
    assertTopic(topic);
    this.#assertOpen();
    if (!Number.isSafeInteger(after) || after < 0) throw new RangeError(`after must be a non-negative integer, got ${after}`);
    await this.ready;
    const read = verifyPosition(await this.#requireSession().readAfter(topic, after), { seq: after, ...at });
    if (read.kind !== 'complete') return { kind: 'resync', head: read.head, epoch: read.epoch };
    return {
      kind: 'messages',
      head: read.head,
      epoch: read.epoch,
      messages: read.entries.map((entry) => ({
        seq: entry.seq,
        epoch: entry.epoch,
        id: entry.id,
        type: entry.type,
        data: entry.data === undefined ? undefined : (JSON.parse(entry.data) as unknown),
        publishedAt: entry.publishedAt,
      })),
    };
  }

  on<E extends keyof HubEvents<Meta>>(event: E, listener: (value: HubEvents<Meta>[E]) => void): () => void {
    const listeners = this.#listeners[event] as Set<(value: HubEvents<Meta>[E]) => void>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#gapTimer) clearInterval(this.#gapTimer);
    this.#gapTimer = undefined;
    this.#unannounced.clear();
    this.#channels.clear();
    // What this turn delivered still leaves: connections outlive the hub.
    this.#batch.flush();
    await this.ready.catch(() => undefined);
    await this.#session?.close();
  }

  // ── connections ──────────────────────────────────────────────────────────

  #state(peer: PeerConnection): PeerState {
    let state = this.#peers.get(peer);
    if (state) return state;
    state = {
      id: `${this.nodeId}.${(this.#connectionCount++).toString(36)}`,
      peer,
      closed: false,
      corkedAt: undefined,
      cleaned: false,
      subscriptions: new Map(),
      presence: undefined,
      resumePoints: undefined,
    };
    this.#peers.set(peer, state);
    const attached = state;
    peer.once('close', () => this.#onPeerClose(attached));
    return state;
  }

  #onPeerClose(state: PeerState): void {
    if (state.cleaned) return;
    state.cleaned = true;
    state.closed = true;
    for (const topic of [...state.subscriptions.keys()]) this.#drop(state, topic);
    state.resumePoints = undefined;
    for (const topic of state.presence ?? []) {
      this.#withSession((session) => session.presenceLeave(topic, state.id, 'disconnected'));
    }
    state.presence = undefined;
    // The state stays in the WeakMap: a closed connection used again is recognised as closed.
  }

  #resume(
    peer: PeerConnection,
    streams: Readonly<Record<string, number>>,
    at: Readonly<Record<string, { readonly epoch?: string; readonly id?: string }>> = {},
  ): void {
    const state = this.#state(peer);
    let named = 0;
    for (const topic of Object.keys(streams)) {
      if (named++ >= this.#options.maxResumeTopics) break;
      const seq = streams[topic];
      if (seq === undefined || topic.length === 0 || topic.length > 256) continue;
      if (state.subscriptions.has(topic)) continue;
      const place = at[topic];
      (state.resumePoints ??= new Map()).set(topic, { seq, epoch: place?.epoch, id: place?.id });
      void Promise.resolve()
        .then(() => this.#options.canResume(peer, topic))
        .then((allowed) => {
          if (allowed && !state.closed && !this.#closed) return this.subscribe(peer, topic as Topic);
          return undefined;
        })
        .catch((error: unknown) => this.#emit('error', error));
    }
  }

  // ── topics ───────────────────────────────────────────────────────────────

  #channel(topic: string): TopicChannel {
    let channel = this.#channels.get(topic);
    if (channel) return channel;
    const created = new TopicChannel(
      topic,
      {
        readAfter: (t, after) => this.#requireSession().readAfter(t, after),
        raiseFloor: (t, floor) => this.#requireSession().raiseFloor(t, floor),
      },
      this.#options.maxPending,
      (error) => this.#emit('error', error),
    );
    created.ready = this.#brokerOp(topic, () => this.#requireSession().subscribe(topic));
    created.ready.catch(() => {
      if (this.#channels.get(topic) === created) this.#channels.delete(topic);
    });
    this.#channels.set(topic, created);
    return created;
  }

  #drop(state: PeerState, topic: string): void {
    const subscription = state.subscriptions.get(topic);
    if (!subscription) return;
    state.subscriptions.delete(topic);
    this.#unannounced.delete(subscription);
    const channel = this.#channels.get(topic);
    if (!channel || channel.subscriptions.get(state.id) !== subscription) return;
    channel.subscriptions.delete(state.id);
    if (channel.subscriptions.size > 0) return;
    this.#channels.delete(topic);
    this.#brokerOp(topic, async () => this.#session?.unsubscribe(topic)).catch((error: unknown) => this.#emit('error', error));
  }

  /**
   * Runs a topic's broker subscribe/unsubscribe after the previous one settled, so the broker
   * sees them in the order channels were made and dropped (an unsubscribe overtaking a newer
   * subscribe would leave a channel deaf).
   */
  #brokerOp(topic: string, operation: () => Promise<void>): Promise<void> {
    const previous = this.#brokerOps.get(topic)?.catch(() => undefined) ?? Promise.resolve();
    // A broker that never connected fails every operation with its own error.
    const next = previous.then(() => this.ready).then(operation);
    this.#brokerOps.set(topic, next);
    const forget = (): void => {
      if (this.#brokerOps.get(topic) === next) this.#brokerOps.delete(topic);
    };
    next.then(forget, forget);
    return next;
  }

  #onEntry(entry: BrokerEntry): void {
    this.#channels.get(entry.topic)?.receive(entry);
  }

  #onStatus(status: BrokerStatus): void {
    if (status.state === 'up' && status.resumed) {
      for (const channel of this.#channels.values()) {
        if (status.dataLost) channel.restartNumbering();
        else channel.catchUp();
      }
    }
    this.#emit('broker', status);
  }

  // ── slow consumers ───────────────────────────────────────────────────────

  #watchGap(subscription: Subscription): void {
    this.#unannounced.add(subscription);
    if (this.#gapTimer) return;
    this.#gapTimer = setInterval(() => this.#retryGaps(), this.#options.gapRetryMs);
    (this.#gapTimer as { unref?: () => void }).unref?.();
  }

  #retryGaps(): void {
    for (const subscription of this.#unannounced) {
      if (subscription.flushGap()) this.#unannounced.delete(subscription);
    }
    if (this.#unannounced.size === 0 && this.#gapTimer) {
      clearInterval(this.#gapTimer);
      this.#gapTimer = undefined;
    }
  }

  // ── presence ─────────────────────────────────────────────────────────────

  async #presenceJoin(peer: PeerConnection, topic: string, meta: Meta): Promise<void> {
    assertTopic(topic);
    this.#assertOpen();
    const state = this.#state(peer);
    if (state.closed) return;
    (state.presence ??= new Set()).add(topic);
    await this.ready;
    await this.#requireSession().presenceJoin(topic, { id: state.id, nodeId: this.nodeId, meta });
    // The connection may have closed while the join was on its way: its leave went first.
    if (state.closed) await this.#requireSession().presenceLeave(topic, state.id, 'disconnected');
  }

  async #presenceLeave(peer: PeerConnection, topic: string): Promise<void> {
    const state = this.#peers.get(peer);
    if (!state?.presence?.delete(topic)) return;
    await this.ready;
    await this.#requireSession().presenceLeave(topic, state.id, 'left' satisfies PresenceLeaveReason);
  }

  async #presenceList(topic: string): Promise<ReadonlyArray<PresenceMember<Meta>>> {
    assertTopic(topic);
    await this.ready;
    return (await this.#requireSession().presenceList(topic)) as ReadonlyArray<PresenceMember<Meta>>;
  }

  // ── plumbing ─────────────────────────────────────────────────────────────

  #withSession(work: (session: BrokerSession) => Promise<void>): void {
    this.ready
      .then(() => work(this.#requireSession()))
      .catch((error: unknown) => this.#emit('error', error));
  }

  #requireSession(): BrokerSession {
    if (!this.#session) throw new HubClosedError();
    return this.#session;
  }

  #assertOpen(): void {
    if (this.#closed) throw new HubClosedError();
  }

  #emit<E extends keyof HubEvents<Meta>>(event: E, value: HubEvents<Meta>[E]): void {
    for (const listener of this.#listeners[event] as Set<(value: HubEvents<Meta>[E]) => void>) {
      try {
        listener(value);
      } catch {
        // A listener's failure must not stop delivery to the others or to connections.
      }
    }
  }
}
