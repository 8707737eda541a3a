/**
 * The broker for many processes and machines, over Redis (ioredis):
 * - order: a Lua script per publish does INCR (the seq), XADD (history) and PUBLISH (live
 *   fan-out) atomically, so every node sees one total order per topic;
 * - live fan-out: one pub/sub channel per topic, subscribed by the nodes that have
 *   subscribers for it; Redis delivers a channel's messages in publish order;
 * - history: one stream per topic, trimmed by MAXLEN and MINID;
 * - presence: a hash of members per topic; each node keeps one heartbeat key with an expiry
 *   alive, and when it dies any node's reaper removes its members.
 *
 * While Redis is unreachable, publishes fail at once with `BrokerUnavailableError` (nothing
 * is queued: a queue would hand out seqs late and hide the outage). When it comes back every
 * node re-checks each topic against history and reports what it cannot recover.
 */
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type {
  Broker,
  BrokerContext,
  BrokerEntry,
  BrokerSession,
  HistoryRead,
  PresenceChange,
  PresenceLeaveReason,
  PresenceMember,
  PublishRequest,
} from './broker.js';
import { BrokerUnavailableError } from './errors.js';
import { classifyRead, newEpoch, retainedSuffix } from './history.js';
import {
  PRESENCE_HEARTBEAT_SCRIPT,
  PRESENCE_JOIN_SCRIPT,
  PRESENCE_LEAVE_SCRIPT,
  PRESENCE_LIST_SCRIPT,
  PRESENCE_REAP_SCRIPT,
  PUBLISH_SCRIPT,
  RAISE_FLOOR_SCRIPT,
  READ_SCRIPT,
} from './redis-scripts.js';

export interface RedisBrokerOptions {
  /** `redis://host:port/db`. Default: `redis://127.0.0.1:6379`. */
  readonly url?: string;
  /** Extra ioredis options (TLS, password, retryStrategy …), applied to both connections. */
  readonly redis?: RedisOptions;
  /** Prefix of every key and channel, so several apps can share a Redis. Default: `'switchyard:'`. */
  readonly prefix?: string;
  /** Expired presence members removed per reaper run, across topics. Default: 1000. */
  readonly reapLimit?: number;
}

interface Script {
  readonly source: string;
  readonly sha: string;
}

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const SCRIPTS = {
  publish: script(PUBLISH_SCRIPT),
  read: script(READ_SCRIPT),
  raiseFloor: script(RAISE_FLOOR_SCRIPT),
  join: script(PRESENCE_JOIN_SCRIPT),
  heartbeat: script(PRESENCE_HEARTBEAT_SCRIPT),
  leave: script(PRESENCE_LEAVE_SCRIPT),
  reap: script(PRESENCE_REAP_SCRIPT),
  list: script(PRESENCE_LIST_SCRIPT),
};

interface EntryBody {
  readonly y: string;
  readonly d?: string;
  readonly x?: string;
  readonly ts: number;
}

export class RedisBroker implements Broker {
  readonly #options: RedisBrokerOptions;

  constructor(options: RedisBrokerOptions = {}) {
    this.#options = options;
  }

  async connect(context: BrokerContext): Promise<BrokerSession> {
    const session = new RedisSession(this.#options, context);
    await session.open();
    return session;
  }
}

class RedisSession implements BrokerSession {
  readonly #context: BrokerContext;
  readonly #prefix: string;
  readonly #reapLimit: number;
  readonly #command: Redis;
  readonly #subscriber: Redis;
  readonly #channels = new Set<string>();
  /** Presence members joined through this node: topic → member id → member JSON. */
  readonly #members = new Map<string, Map<string, string>>();
  #presenceTimer: ReturnType<typeof setInterval> | undefined;
  /** The id of the Redis dataset this node last saw; a different one after a reconnect means data was lost. */
  #epoch: string | undefined;
  #up = false;
  #wasDown = false;
  #closed = false;

  constructor(options: RedisBrokerOptions, context: BrokerContext) {
    this.#context = context;
    this.#prefix = options.prefix ?? 'switchyard:';
    this.#reapLimit = options.reapLimit ?? 1000;
    const url = options.url ?? 'redis://127.0.0.1:6379';
    const common: RedisOptions = {
      lazyConnect: true,
      // Fail fast instead of queueing: a queued publish would get its seq at an unknown later time.
      enableOfflineQueue: false,
      // A command in flight when the connection dropped may or may not have run: never resend it.
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      ...options.redis,
    };
    this.#command = new Redis(url, { ...common, connectionName: `switchyard-hub-${context.nodeId}` });
    // The subscriber re-subscribes itself on `ready`, then reports `up`.
    this.#subscriber = new Redis(url, { ...common, autoResubscribe: false, connectionName: `switchyard-hub-sub-${context.nodeId}` });
  }

  async open(): Promise<void> {
    this.#subscriber.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
    for (const connection of [this.#command, this.#subscriber]) {
      // ioredis reports every failed reconnect attempt as an error; the state events below carry it.
      connection.on('error', () => undefined);
      connection.on('close', () => this.#onDown());
      connection.on('ready', () => this.#onReady());
    }
    try {
      await Promise.all([this.#command.connect(), this.#subscriber.connect()]);
      const [epoch] = await Promise.all([this.#readEpoch(), this.#loadScripts(), this.#subscriber.subscribe(this.#presenceChannel())]);
      this.#epoch = epoch;
    } catch (error) {
      this.#command.disconnect();
      this.#subscriber.disconnect();
      throw new BrokerUnavailableError('could not connect to Redis', 'not-sent', { cause: error });
    }
    this.#up = true;
    this.#context.onStatus({ state: 'up', resumed: false, dataLost: false });
    const period = Math.max(5, Math.floor(this.#context.presenceTtlMs / 3));
    this.#presenceTimer = setInterval(() => void this.#presenceTick(), period);
    this.#presenceTimer.unref?.();
  }

  async publish(request: PublishRequest): Promise<BrokerEntry> {
    const body: EntryBody = {
      y: request.type,
      ts: request.publishedAt,
      ...(request.data === undefined ? {} : { d: request.data }),
      ...(request.except === undefined ? {} : { x: request.except }),
    };
    const { history } = this.#context;
    const [seq, epoch, id] = (await this.#run(SCRIPTS.publish, this.#topicKeys(request.topic), [
      this.#channel(request.topic),
      request.floor,
      history.maxCount,
      history.maxAgeMs,
      JSON.stringify(body),
      newEpoch(),
    ])) as [number, string, string];
    return {
      topic: request.topic,
      seq: Number(seq),
      epoch: String(epoch),
      id: String(id),
      type: request.type,
      data: request.data,
      publishedAt: request.publishedAt,
      except: request.except,
    };
  }

  async subscribe(topic: string): Promise<void> {
    const channel = this.#channel(topic);
    this.#channels.add(channel);
    try {
      await this.#subscriber.subscribe(channel);
    } catch (error) {
      this.#channels.delete(channel);
      throw this.#unavailable(error);
    }
  }

  async unsubscribe(topic: string): Promise<void> {
    const channel = this.#channel(topic);
    if (!this.#channels.delete(channel)) return;
    // While Redis is down there is nothing to unsubscribe from; the reconnect will not resubscribe.
    if (this.#subscriber.status === 'ready') await this.#subscriber.unsubscribe(channel).catch(() => undefined);
  }

  async readAfter(topic: string, after: number): Promise<HistoryRead> {
    const { maxCount, maxAgeMs } = this.#context.history;
    const reply = (await this.#run(SCRIPTS.read, this.#topicKeys(topic), [after, maxCount, newEpoch()])) as [
      number,
      Array<[string, string[]]>,
      string,
    ];
    const head = Number(reply[0]);
    const epoch = String(reply[2]);
    const entries: BrokerEntry[] = [];
    for (let i = reply[1].length - 1; i >= 0; i--) {
      const entry = this.#parseStreamEntry(topic, reply[1][i]!, epoch);
      if (entry) entries.push(entry);
    }
    return classifyRead(after, head, retainedSuffix(entries, this.#context.now(), maxAgeMs), epoch);
  }

  async raiseFloor(topic: string, floor: number): Promise<void> {
    await this.#run(SCRIPTS.raiseFloor, [this.#seqKey(topic)], [floor]);
  }

  async presenceJoin(topic: string, member: PresenceMember<unknown>): Promise<void> {
    const json = JSON.stringify({ id: member.id, nodeId: member.nodeId, meta: member.meta });
    let members = this.#members.get(topic);
    if (!members) this.#members.set(topic, (members = new Map()));
    members.set(member.id, json);
    await this.#join(topic, member.id, json, 'join');
  }

  async presenceLeave(topic: string, memberId: string, reason: PresenceLeaveReason): Promise<void> {
    const members = this.#members.get(topic);
    members?.delete(memberId);
    if (members?.size === 0) this.#members.delete(topic);
    await this.#run(SCRIPTS.leave, [this.#presenceKey(topic), this.#nodeMembersKey()], [
      memberId,
      this.#presenceChannel(),
      JSON.stringify(topic),
      reason,
      memberRef(memberId, topic),
    ]);
  }

  async presenceList(topic: string): Promise<ReadonlyArray<PresenceMember<unknown>>> {
    const reply = (await this.#run(SCRIPTS.list, [this.#presenceKey(topic)], [this.#prefix])) as string[];
    const members: Array<PresenceMember<unknown>> = [];
    for (const json of reply) {
      const member = parseMember(json);
      if (member) members.push(member);
    }
    return members;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#presenceTimer) clearInterval(this.#presenceTimer);
    const leaves: Array<Promise<void>> = [];
    for (const [topic, members] of [...this.#members]) {
      for (const id of [...members.keys()]) leaves.push(this.presenceLeave(topic, id, 'disconnected').catch(() => undefined));
    }
    await Promise.all(leaves);
    this.#channels.clear();
    await Promise.all([quit(this.#command), quit(this.#subscriber)]);
  }

  // ── connection state ─────────────────────────────────────────────────────

  #onDown(): void {
    if (this.#closed || !this.#up) return;
    this.#up = false;
    this.#wasDown = true;
    this.#context.onStatus({ state: 'down', error: undefined });
  }

  #onReady(): void {
    if (this.#closed || this.#up || !this.#wasDown) return;
    if (this.#command.status !== 'ready' || this.#subscriber.status !== 'ready') return;
    void this.#resume();
  }

  /** Both connections are back: load the scripts, subscribe again, then report `up`. */
  async #resume(): Promise<void> {
    let epoch: string;
    try {
      [epoch] = await Promise.all([
        this.#readEpoch(),
        this.#loadScripts(),
        this.#subscriber.subscribe(this.#presenceChannel(), ...this.#channels),
      ]);
    } catch {
      return; // Dropped again; the next `ready` retries.
    }
    if (this.#up || this.#closed) return;
    const dataLost = epoch !== this.#epoch;
    this.#epoch = epoch;
    this.#up = true;
    this.#wasDown = false;
    this.#context.onStatus({ state: 'up', resumed: true, dataLost });
    // Redis may have lost this node's members, or other nodes may have reaped them while it
    // was away: put back whatever is missing.
    void this.#restorePresence().then(() => this.#presenceTick());
  }

  // ── pub/sub ──────────────────────────────────────────────────────────────

  #onMessage(channel: string, message: string): void {
    if (channel === this.#presenceChannel()) {
      const change = parsePresenceChange(message);
      if (change) this.#context.onPresence(change);
      return;
    }
    const topic = channel.slice(this.#channelPrefix().length);
    // `seq:epoch:id:body` (epoch and id hold no colon; the body is JSON).
    const c1 = message.indexOf(':');
    const c2 = message.indexOf(':', c1 + 1);
    const c3 = message.indexOf(':', c2 + 1);
    if (c1 < 0 || c2 < 0 || c3 < 0) return;
    const seq = Number(message.slice(0, c1));
    const entry = this.#entry(topic, seq, message.slice(c3 + 1), message.slice(c1 + 1, c2), message.slice(c2 + 1, c3));
    if (entry) this.#context.onEntry(entry);
  }

  #parseStreamEntry(topic: string, raw: [string, string[]], epoch: string): BrokerEntry | undefined {
    const fields = raw[1];
    let seq = Number.NaN;
    let body: string | undefined;
    let entryEpoch = epoch;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 's') seq = Number(fields[i + 1]);
      else if (fields[i] === 'b') body = fields[i + 1];
      else if (fields[i] === 'e') entryEpoch = fields[i + 1]!;
    }
    return body === undefined ? undefined : this.#entry(topic, seq, body, entryEpoch, raw[0]);
  }

  #entry(topic: string, seq: number, bodyText: string, epoch: string, id: string): BrokerEntry | undefined {
    if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
    let body: EntryBody;
    try {
      body = JSON.parse(bodyText) as EntryBody;
    } catch {
      return undefined;
    }
    if (typeof body.y !== 'string') return undefined;
    return { topic, seq, type: body.y, data: body.d, publishedAt: Number(body.ts), except: body.x, epoch, id };
  }

  // ── presence upkeep ──────────────────────────────────────────────────────

  /**
   * One heartbeat for all of this node's members (if it had lapsed, the members may have been
   * reaped: restore them), then reap the members of nodes whose heartbeat expired.
   */
  async #presenceTick(): Promise<void> {
    if (!this.#up || this.#closed) return;
    try {
      if (this.#members.size > 0) {
        const lapsed = await this.#run(SCRIPTS.heartbeat, [this.#heartbeatKey(), this.#nodesKey()], [
          this.#context.presenceTtlMs,
          this.#context.nodeId,
        ]);
        if (Number(lapsed) === 1) await this.#restorePresence();
      }
      await this.#run(SCRIPTS.reap, [this.#nodesKey()], [this.#prefix, this.#presenceChannel(), this.#reapLimit]);
    } catch {
      // Redis went away mid-tick: the next tick after `up` does it again.
    }
  }

  async #restorePresence(): Promise<void> {
    const restores: Array<Promise<unknown>> = [];
    for (const [topic, members] of this.#members) {
      for (const [id, json] of members) restores.push(this.#join(topic, id, json, 'restore'));
    }
    await Promise.all(restores).catch(() => undefined);
  }

  #join(topic: string, id: string, json: string, mode: 'join' | 'restore'): Promise<unknown> {
    return this.#run(
      SCRIPTS.join,
      [this.#presenceKey(topic), this.#nodeMembersKey(), this.#nodesKey(), this.#heartbeatKey()],
      [id, json, this.#presenceChannel(), JSON.stringify(topic), memberRef(id, topic), this.#context.presenceTtlMs, this.#context.nodeId, mode],
    );
  }

  // ── plumbing ─────────────────────────────────────────────────────────────

  /**
   * Scripts are loaded before the broker reports `up` (a restarted Redis has forgotten them),
   * so commands go out as EVALSHA in the order they were made.
   */
  /**
   * The dataset's epoch: a random id stored once (SET NX) and never expiring. A Redis that
   * restarted without its data has none, so the first node back creates a new one and every
   * node sees that it changed.
   */
  async #readEpoch(): Promise<string> {
    const candidate = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    const key = `${this.#prefix}epoch`;
    await this.#command.set(key, candidate, 'NX');
    const epoch = await this.#command.get(key);
    return epoch ?? candidate;
  }

  async #loadScripts(): Promise<void> {
    await Promise.all(Object.values(SCRIPTS).map((target) => this.#command.script('LOAD', target.source)));
  }

  async #run(target: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    if (!this.#up || this.#command.status !== 'ready') {
      throw new BrokerUnavailableError(`Redis is unreachable (connection ${this.#command.status})`, 'not-sent');
    }
    try {
      return await this.#command.evalsha(target.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        // Someone flushed Redis's script cache. This command did not run; load the scripts
        // again for the next ones rather than retry this one out of order.
        this.#loadScripts().catch(() => undefined);
        throw new BrokerUnavailableError('Redis had lost the hub scripts; they are being reloaded', 'not-sent', { cause: error });
      }
      throw this.#unavailable(error);
    }
  }

  /** Redis's own error replies are programming errors and pass through; connection failures become typed. */
  #unavailable(error: unknown): unknown {
    if (error instanceof Error && error.name === 'ReplyError') return error;
    return new BrokerUnavailableError('the Redis connection failed during the operation', 'unknown', { cause: error });
  }

  /** The keys of a topic's stream: seq counter, history, meta (epoch). One hash slot. */
  #topicKeys(topic: string): string[] {
    return [this.#seqKey(topic), this.#logKey(topic), `${this.#prefix}{${topic}}:meta`];
  }

  #seqKey(topic: string): string {
    return `${this.#prefix}{${topic}}:seq`;
  }

  #logKey(topic: string): string {
    return `${this.#prefix}{${topic}}:log`;
  }

  #presenceKey(topic: string): string {
    return `${this.#prefix}{${topic}}:pm`;
  }

  #heartbeatKey(): string {
    return `${this.#prefix}presence:node:${this.#context.nodeId}`;
  }

  #nodeMembersKey(): string {
    return `${this.#heartbeatKey()}:members`;
  }

  #nodesKey(): string {
    return `${this.#prefix}presence:nodes`;
  }

  #channelPrefix(): string {
    return `${this.#prefix}msg:`;
  }

  #channel(topic: string): string {
    return `${this.#channelPrefix()}${topic}`;
  }

  #presenceChannel(): string {
    return `${this.#prefix}presence`;
  }
}

/** A member as the node's member set holds it: the id has no `|` (node ids are [A-Za-z0-9_-]). */
function memberRef(id: string, topic: string): string {
  return `${id}|${topic}`;
}

function parseMember(json: string): PresenceMember<unknown> | undefined {
  try {
    const value = JSON.parse(json) as Partial<PresenceMember<unknown>>;
    if (typeof value.id !== 'string' || typeof value.nodeId !== 'string') return undefined;
    return { id: value.id, nodeId: value.nodeId, meta: value.meta };
  } catch {
    return undefined;
  }
}

function parsePresenceChange(message: string): PresenceChange<unknown> | undefined {
  try {
    const value = JSON.parse(message) as { type?: unknown; topic?: unknown; member?: unknown; reason?: unknown };
    if (typeof value.topic !== 'string' || typeof value.member !== 'object' || value.member === null) return undefined;
    const member = parseMember(JSON.stringify(value.member));
    if (!member) return undefined;
    if (value.type === 'join' || value.type === 'update') return { type: value.type, topic: value.topic, member };
    if (value.type === 'leave' && (value.reason === 'left' || value.reason === 'disconnected' || value.reason === 'expired')) {
      return { type: 'leave', topic: value.topic, member, reason: value.reason };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

async function quit(connection: Redis): Promise<void> {
  try {
    if (connection.status === 'ready') await connection.quit();
    else connection.disconnect();
  } catch {
    connection.disconnect();
  }
}
