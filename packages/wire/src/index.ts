/**
 * The Switchyard envelope: the message shapes a client and a server exchange over one
 * WebSocket, after the serializer (JSON by default) has turned frames into values.
 *
 * Every message is an object with a `t` tag. Servers (the Node and Deno/Bun adapters,
 * the hub) import it as `@switchyard/wire` (re-exported as `@switchyard/client/wire`); it has no dependencies and
 * no I/O so it runs anywhere.
 *
 * Client → server: `msg`, `req`, `ping`, `pong`, `resume`.
 * Server → client: `msg` (optionally stamped with `topic` + `seq`), `res`, `ping`, `pong`,
 * `resync`, `gap`, `skip`, `pos`.
 *
 * A place in a topic's stream is a `StreamPosition`: the `epoch` names one numbering of the
 * topic (a new one begins whenever the server cannot vouch that the old numbering goes on,
 * e.g. its store came back empty or from an older snapshot), `seq` counts within it, and `id`
 * names the entry at `seq` so a server can tell a rolled-back stream that reused `seq`.
 * Epoch and id are optional everywhere, so peers that predate them keep working.
 */

/** A resumable place in one topic's stream. */
export interface StreamPosition {
  /** The last seq accounted for (0: nothing yet). */
  readonly seq: number;
  /** The stream's epoch, when the server gives one. */
  readonly epoch?: string;
  /** The id of the entry at `seq`, when known. */
  readonly id?: string;
}

/** An event with a type name and a payload. `data` may be absent on the wire (JSON drops `undefined`). */
export interface EventFrame {
  readonly t: 'msg';
  readonly type: string;
  readonly data?: unknown;
}

/**
 * A server event. When `topic` and `seq` are present the message belongs to an ordered
 * stream: `seq` is a positive integer that grows by exactly 1 per topic. Both or neither.
 */
export interface StampedEventFrame extends EventFrame {
  readonly topic?: string;
  readonly seq?: number;
  /** The stream epoch the seq belongs to (servers that have epochs). */
  readonly epoch?: string;
  /** The entry's id within the stream (servers that have them). */
  readonly id?: string;
}

/** A request; `id` is chosen by the client (a non-negative integer, unique per connection of a client). */
export interface RequestFrame {
  readonly t: 'req';
  readonly id: number;
  readonly type: string;
  readonly data?: unknown;
}

/** The error carried by a failed reply. `code` is machine-readable, `message` is for people. */
export interface ReplyError {
  readonly code: string;
  readonly message: string;
}

/** The reply to a request, echoing its `id`. */
export type ReplyFrame =
  | { readonly t: 'res'; readonly id: number; readonly ok: true; readonly data?: unknown }
  | { readonly t: 'res'; readonly id: number; readonly ok: false; readonly error: ReplyError };

/** Application-level heartbeat. The receiver of a `ping` answers a `pong` with the same `ts`. */
export interface PingFrame {
  readonly t: 'ping';
  readonly ts: number;
}
export interface PongFrame {
  readonly t: 'pong';
  readonly ts: number;
}

/**
 * Sent by the client as the first message of a connection when it has seen stamped
 * messages before: the last `seq` it received per topic. The server replays, per topic,
 * the messages with a greater `seq` (stamped as usual), or answers `resync` / `gap`.
 */
export interface ResumeFrame {
  readonly t: 'resume';
  readonly streams: Readonly<Record<string, number>>;
  /**
   * Per topic of `streams`, the epoch and entry id of that seq as the client received them.
   * A server with epochs answers `resync` when they are not those of its stream (the stream
   * was reset or rolled back), instead of replaying numbers that name other messages.
   */
  readonly at?: Readonly<Record<string, { readonly epoch?: string; readonly id?: string }>>;
}

/**
 * The topic's current position, sent when a subscription starts (and after a `resync`):
 * the client keeps it as its resume point before any message arrives.
 */
export interface PositionFrame {
  readonly t: 'pos';
  readonly topic: string;
  readonly seq: number;
  readonly epoch?: string;
  readonly id?: string;
}

/**
 * The server cannot replay `topic` (history gone, or the client's `seq` is unknown to it,
 * e.g. after a server restart reset the numbering). The client forgets its `seq` for the
 * topic and accepts the next stamped message whatever its number; the app reloads state.
 */
export interface ResyncFrame {
  readonly t: 'resync';
  readonly topic: string;
}

/** Messages `from`..`to` (inclusive) of `topic` are lost and will not be replayed. */
export interface GapFrame {
  readonly t: 'gap';
  readonly topic: string;
  readonly from: number;
  readonly to: number;
}

/**
 * Message `seq` of `topic` exists but is not for this client (it was published to the topic
 * except this connection, typically its own line): the client accounts for it as if it had
 * been delivered — no event, no gap — so the next message, and the next resume, continue
 * after it. It takes the place of the message in the topic's order.
 */
export interface SkipFrame {
  readonly t: 'skip';
  readonly topic: string;
  readonly seq: number;
  readonly epoch?: string;
  readonly id?: string;
}

export type ClientFrame = EventFrame | RequestFrame | PingFrame | PongFrame | ResumeFrame;
export type ServerFrame = StampedEventFrame | ReplyFrame | PingFrame | PongFrame | ResyncFrame | GapFrame | SkipFrame | PositionFrame;

/** `error` names the tag and the offending field(s), e.g. "msg: bad topic/seq" (the rules are the types above). */
export type ParseResult<T> = { readonly ok: true; readonly frame: T } | { readonly ok: false; readonly error: string };

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isText = (value: unknown): value is string => typeof value === 'string';
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isSeq = (value: unknown): value is number => isCount(value) && value > 0;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

const isTag = (value: unknown): value is string | undefined =>
  value === undefined || (typeof value === 'string' && value.length > 0 && value.length <= 128);
/** `epoch` / `id` fields, copied only when present (absent stays absent). */
const tags = (v: Fields): { epoch?: string; id?: string } => ({
  ...(v.epoch === undefined ? {} : { epoch: v.epoch as string }),
  ...(v.id === undefined ? {} : { id: v.id as string }),
});

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

/** Shapes both directions share; `undefined` means "not one of these tags". */
function parseCommon(v: Fields): ParseResult<PingFrame | PongFrame> | undefined {
  if (v.t !== 'ping' && v.t !== 'pong') return undefined;
  return isTime(v.ts) ? { ok: true, frame: { t: v.t, ts: v.ts } } : fail(`${v.t}: bad ts`);
}

/** Validates a decoded value received by a client. Never throws; unknown fields are dropped. */
export function parseServerFrame(value: unknown): ParseResult<ServerFrame> {
  if (!isObject(value)) return fail('not an object');
  const common = parseCommon(value);
  if (common) return common;
  switch (value.t) {
    case 'msg': {
      if (!isText(value.type)) return fail('msg: bad type');
      const { topic, seq } = value;
      if (topic === undefined && seq === undefined) return { ok: true, frame: { t: 'msg', type: value.type, data: value.data } };
      if (!isText(topic) || !isSeq(seq)) return fail('msg: bad topic/seq');
      if (!isTag(value.epoch) || !isTag(value.id)) return fail('msg: bad epoch/id');
      return { ok: true, frame: { t: 'msg', type: value.type, data: value.data, topic, seq, ...tags(value) } };
    }
    case 'res': {
      if (!isCount(value.id)) return fail('res: bad id');
      if (value.ok === true) return { ok: true, frame: { t: 'res', id: value.id, ok: true, data: value.data } };
      const { error } = value;
      if (value.ok !== false || !isObject(error) || !isText(error.code) || !isText(error.message)) {
        return fail('res: bad ok/error');
      }
      return { ok: true, frame: { t: 'res', id: value.id, ok: false, error: { code: error.code, message: error.message } } };
    }
    case 'resync':
      return isText(value.topic) ? { ok: true, frame: { t: 'resync', topic: value.topic } } : fail('resync: bad topic');
    case 'gap': {
      const { topic, from, to } = value;
      if (!isText(topic) || !isSeq(from) || !isSeq(to) || from > to) return fail('gap: bad topic/from/to');
      return { ok: true, frame: { t: 'gap', topic, from, to } };
    }
    case 'skip': {
      const { topic, seq } = value;
      if (!isText(topic) || !isSeq(seq) || !isTag(value.epoch) || !isTag(value.id)) return fail('skip: bad topic/seq');
      return { ok: true, frame: { t: 'skip', topic, seq, ...tags(value) } };
    }
    case 'pos': {
      const { topic, seq } = value;
      if (!isText(topic) || !isCount(seq) || !isTag(value.epoch) || !isTag(value.id)) return fail('pos: bad topic/seq/epoch/id');
      return { ok: true, frame: { t: 'pos', topic, seq, ...tags(value) } };
    }
    default:
      return fail('unknown tag');
  }
}

/** Validates a decoded value received by a server. Never throws; unknown fields are dropped. */
export function parseClientFrame(value: unknown): ParseResult<ClientFrame> {
  if (!isObject(value)) return fail('not an object');
  const common = parseCommon(value);
  if (common) return common;
  switch (value.t) {
    case 'msg':
      return isText(value.type) ? { ok: true, frame: { t: 'msg', type: value.type, data: value.data } } : fail('msg: bad type');
    case 'req':
      if (!isCount(value.id) || !isText(value.type)) return fail('req: bad id/type');
      return { ok: true, frame: { t: 'req', id: value.id, type: value.type, data: value.data } };
    case 'resume': {
      const { streams } = value;
      if (!isObject(streams)) return fail('resume: bad streams');
      // A null-prototype copy: a topic named "__proto__" stays an ordinary key.
      const copy: Record<string, number> = Object.create(null) as Record<string, number>;
      for (const topic of Object.keys(streams)) {
        const seq = streams[topic];
        if (!isCount(seq)) return fail('resume: bad seq');
        copy[topic] = seq;
      }
      if (value.at === undefined) return { ok: true, frame: { t: 'resume', streams: copy } };
      if (!isObject(value.at)) return fail('resume: bad at');
      const at: Record<string, { epoch?: string; id?: string }> = Object.create(null) as Record<string, { epoch?: string; id?: string }>;
      for (const topic of Object.keys(value.at)) {
        const place = value.at[topic];
        if (!(topic in copy)) continue;
        if (!isObject(place) || !isTag(place.epoch) || !isTag(place.id)) return fail('resume: bad at');
        at[topic] = tags(place);
      }
      return { ok: true, frame: { t: 'resume', streams: copy, at } };
    }
    default:
      return fail('unknown tag');
  }
}

/** The pong that answers `frame` when it is a heartbeat ping, else `undefined`. For servers with any serializer. */
export function pongFor(frame: unknown): PongFrame | undefined {
  return isObject(frame) && frame.t === 'ping' && isTime(frame.ts) ? { t: 'pong', ts: frame.ts } : undefined;
}

/**
 * For servers speaking JSON: given a received text message, the pong text to send back
 * when it is a heartbeat ping, else `undefined` (the message is the app's). Cheap on
 * ordinary traffic: only short texts that mention "ping" are parsed.
 */
export function answerHeartbeat(message: string): string | undefined {
  if (message.length > 64 || !message.includes('"ping"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  const pong = pongFor(value);
  return pong && JSON.stringify(pong);
}
