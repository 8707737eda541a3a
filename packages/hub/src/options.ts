/** The hub's options, their defaults, and the checks that reject nonsense early. */
import type { PeerConnection } from '@switchyard/codec';
import type { Protocol, ProtocolShape } from '@switchyard/client';
import type { Broker, HistoryOptions } from './broker.js';
import type { SlowConsumerPolicy } from './subscription.js';

export interface SlowConsumerOptions {
  /** A subscriber holding this many unsent bytes gets no more frames until it drains. Default: 1 MiB. */
  readonly maxBufferedBytes?: number;
  /**
   * What happens to a message a subscriber has no room for. `drop-with-gap`: it is skipped and
   * the subscriber is sent a `gap` frame for the skipped range as soon as it has room;
   * `close`: the connection is closed with 1013 (try again later) and the client reconnects
   * and resumes from history. A function chooses per topic. Default: `'drop-with-gap'`.
   */
  readonly policy?: SlowConsumerPolicy | ((topic: string) => SlowConsumerPolicy);
  /** Live messages held per subscription while its history is replayed. Default: 10 000. */
  readonly maxPending?: number;
  /** How often a subscriber with an unannounced gap is checked for room (ms). Default: 250. */
  readonly gapRetryMs?: number;
}

/** The protocol of a hub created without one: any event type, any JSON payload. */
export interface UntypedProtocol {
  client: Record<string, unknown>;
  server: Record<string, unknown>;
}

export interface HubOptions<P extends ProtocolShape = UntypedProtocol> {
  /** The protocol shared with `@switchyard/client`: types `publish` and `send`. Only its type is used. */
  readonly protocol?: Protocol<P>;
  /** Where sequence numbers, history and presence live. Default: a new `MemoryBroker`. */
  readonly broker?: Broker;
  /** This node's name, part of every connection id. Default: 12 random hex digits. */
  readonly nodeId?: string;
  /** Per-topic history bounds. Default: `{ maxCount: 1000, maxAgeMs: 600_000 }` (ten minutes). */
  readonly history?: Partial<HistoryOptions>;
  /** How long a node's presence entries outlive its last refresh when it dies (ms). Default: 30 000. */
  readonly presenceTtlMs?: number;
  readonly slowConsumer?: SlowConsumerOptions;
  /**
   * Whether a client's `resume` may subscribe the connection to `topic`. Refused topics are
   * kept as resume points: a later `subscribe` of that topic replays from them.
   * Default: every topic may be resumed.
   */
  readonly canResume?: (peer: PeerConnection, topic: string) => boolean | Promise<boolean>;
  /** Most topics one `resume` message may name; the rest are ignored. Default: 1 000. */
  readonly maxResumeTopics?: number;
  /** The clock used for history age. Default: `Date.now`. */
  readonly now?: () => number;
}

export interface ResolvedHubOptions {
  readonly broker: Broker | undefined;
  readonly nodeId: string;
  readonly history: HistoryOptions;
  readonly presenceTtlMs: number;
  readonly maxBufferedBytes: number;
  readonly policyFor: (topic: string) => SlowConsumerPolicy;
  readonly maxPending: number;
  readonly gapRetryMs: number;
  readonly canResume: (peer: PeerConnection, topic: string) => boolean | Promise<boolean>;
  readonly maxResumeTopics: number;
  readonly now: () => number;
}

export const DEFAULTS = {
  historyMaxCount: 1000,
  historyMaxAgeMs: 600_000,
  presenceTtlMs: 30_000,
  maxBufferedBytes: 1024 * 1024,
  policy: 'drop-with-gap',
  maxPending: 10_000,
  gapRetryMs: 250,
  maxResumeTopics: 1000,
} as const;

function count(name: string, value: number | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min) throw new RangeError(`${name} must be a number >= ${min}, got ${value}`);
  return value;
}

function randomNodeId(): string {
  const bytes = new Uint8Array(6);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function resolveOptions(options: HubOptions<ProtocolShape>): ResolvedHubOptions {
  const slow = options.slowConsumer ?? {};
  const policy = slow.policy ?? DEFAULTS.policy;
  if (typeof policy !== 'function' && policy !== 'drop-with-gap' && policy !== 'close') {
    throw new RangeError(`slowConsumer.policy must be 'drop-with-gap' or 'close', got ${String(policy)}`);
  }
  const nodeId = options.nodeId ?? randomNodeId();
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) throw new RangeError('nodeId must be 1–64 characters of [A-Za-z0-9_-]');
  return {
    broker: options.broker,
    nodeId,
    history: {
      maxCount: count('history.maxCount', options.history?.maxCount, DEFAULTS.historyMaxCount),
      maxAgeMs: count('history.maxAgeMs', options.history?.maxAgeMs, DEFAULTS.historyMaxAgeMs),
    },
    presenceTtlMs: count('presenceTtlMs', options.presenceTtlMs, DEFAULTS.presenceTtlMs, 10),
    maxBufferedBytes: count('slowConsumer.maxBufferedBytes', slow.maxBufferedBytes, DEFAULTS.maxBufferedBytes, 1),
    policyFor: typeof policy === 'function' ? policy : () => policy,
    maxPending: count('slowConsumer.maxPending', slow.maxPending, DEFAULTS.maxPending, 1),
    gapRetryMs: count('slowConsumer.gapRetryMs', slow.gapRetryMs, DEFAULTS.gapRetryMs, 1),
    canResume: options.canResume ?? (() => true),
    maxResumeTopics: count('maxResumeTopics', options.maxResumeTopics, DEFAULTS.maxResumeTopics),
    now: options.now ?? Date.now,
  };
}
