import { backoffDelay } from './backoff.js';
import { createEmitter } from './emitter.js';
import { RequestError } from './errors.js';
import type { Protocol, ProtocolShape } from './protocol.js';
import { createQueue, type QueuedItem } from './queue.js';
import { jsonSerializer } from './serializer.js';
import type {
  StreamPosition,
  Client,
  ClientEvents,
  ClientOptions,
  ClientState,
  DropReason,
  OnlineEventTarget,
  RequestOptions,
  SendResult,
  StateChange,
  StateReason,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
import { check, type Checked, type Validator } from './validate.js';
import { parseServerFrame, type ClientFrame, type ServerFrame } from '@switchyard/wire';

interface Outgoing {
  readonly kind: 'message' | 'request';
  readonly type: string;
  readonly data: unknown;
  readonly id?: number;
}

interface PendingRequest {
  readonly type: string;
  readonly payload: string | Uint8Array;
  readonly idempotent: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: RequestError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  /** Set while the request waits in the offline queue. */
  queued: QueuedItem<Outgoing> | undefined;
  /** Handed to a socket that is still the current one. */
  sent: boolean;
}

type Timer = ReturnType<typeof setTimeout> | undefined;

const OPEN = 1;
const ignore = (): void => {};
/** The code a client uses when it gives up on a socket itself (timeouts); 4000–4999 is for applications. */
const ABANDON_CODE = 4000;

function defaultOnlineTarget(): OnlineEventTarget | undefined {
  const target = globalThis as Partial<OnlineEventTarget>;
  return typeof target.addEventListener === 'function' ? (target as OnlineEventTarget) : undefined;
}

/**
 * A reconnecting client over any WHATWG WebSocket. One state machine:
 * idle → connecting → open → reconnecting → … → closed. Every path out of `connecting`
 * and `reconnecting` is guarded by a timer (connect timeout, backoff), and every socket
 * callback carries the generation it belongs to, so a late event from an abandoned socket
 * can never move the machine.
 */
function place(seq: number, epoch: string | undefined, id: string | undefined): StreamPosition {
  return { seq, ...(epoch === undefined ? {} : { epoch }), ...(id === undefined ? {} : { id }) };
}

/** `streams` as every server reads it; `at` (epoch and entry id) for servers that check them. */
function resumeFrame(positions: ReadonlyMap<string, StreamPosition>): ClientFrame {
  const streams: Record<string, number> = {};
  const at: Record<string, { epoch?: string; id?: string }> = {};
  let tagged = false;
  for (const [topic, position] of positions) {
    streams[topic] = position.seq;
    if (position.epoch !== undefined || position.id !== undefined) {
      const { seq: _seq, ...tags } = position;
      at[topic] = tags;
      tagged = true;
    }
  }
  return tagged ? { t: 'resume', streams, at } : { t: 'resume', streams };
}

export function createClient<P extends ProtocolShape>(protocol: Protocol<P>, options: ClientOptions): Client<P> {
  const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocketClass) throw new TypeError('No WebSocket implementation: pass options.WebSocket');
  const onlineTarget = options.window === undefined ? defaultOnlineTarget() : (options.window ?? undefined);
  const serializer = options.serializer ?? jsonSerializer;
  const random = options.random ?? Math.random;
  const connectTimeout = options.connectTimeout ?? 10_000;
  const backoff = {
    initialDelay: options.initialDelay ?? 1_000,
    factor: options.backoffFactor ?? 2,
    maxDelay: options.maxDelay ?? 30_000,
  };
  const maxAttempts = options.maxAttempts ?? Infinity;
  const minOpenTime = options.minOpenTime ?? 5_000;
  const authFailureCodes = options.authFailureCodes ?? [4001, 4003];
  const fatalCodes = [...(options.fatalCloseCodes ?? []), ...authFailureCodes];
  const heartbeatInterval = options.heartbeatInterval ?? 25_000;
  const heartbeatTimeout = options.heartbeatTimeout ?? 10_000;
  const requestTimeout = options.requestTimeout ?? 10_000;
  const resume = options.resume ?? true;
  const serverValidators = (protocol.validators.server ?? {}) as Record<string, Validator<unknown> | undefined>;
  const replyValidators = (protocol.validators.replies ?? {}) as Record<string, Validator<unknown> | undefined>;

  const messages = createEmitter();
  const events = createEmitter();
  const queue = createQueue<Outgoing>({
    maxCount: options.queueMaxCount ?? 1_000,
    maxBytes: options.queueMaxBytes ?? 1_048_576,
    ttl: options.queueTtl ?? Infinity,
  });
  const pending = new Map<number, PendingRequest>();
  /** Per topic, the resume point: last seq accounted for, with its epoch and entry id when known. */
  const lastSeq = new Map<string, StreamPosition>();

  let state: ClientState = 'idle';
  let socket: WebSocketLike | undefined;
  /** Bumped whenever the current socket or attempt is abandoned; stale callbacks compare against it. */
  let generation = 0;
  /** Attempts since the connection was last stable. */
  let attempt = 0;
  let nextRequestId = 0;
  let retryTimer: Timer;
  let connectTimer: Timer;
  let stableTimer: Timer;
  let heartbeatTimer: Timer;
  let expiryTimer: Timer;
  let awaitingPong = false;
  /** Set while an asynchronous validation is in flight: later frames wait behind it to keep their order. */
  let inbox: Promise<void> | undefined;

  const emit = <K extends keyof ClientEvents>(name: K, event: ClientEvents[K]) => events.emit(name, event);

  function setState(next: ClientState, reason: StateReason, extra?: Partial<StateChange>): void {
    const previous = state;
    state = next;
    emit('state', { state: next, previous, reason, attempt, ...extra });
  }

  // ── sockets ────────────────────────────────────────────────────────────────

  /** Forgets the current socket (closing it if it is still up) and stops its timers. */
  function abandonSocket(code = ABANDON_CODE, reason?: string): void {
    generation++;
    for (const timer of [connectTimer, stableTimer, heartbeatTimer]) clearTimeout(timer);
    awaitingPong = false;
    const current = socket;
    socket = undefined;
    if (current) {
      current.onopen = current.onmessage = current.onclose = null;
      try {
        current.close(code, reason);
      } catch {
        // Already closing or closed: nothing left to release.
      }
    }
  }

  /** The connection dropped: requests that went out on it are answered by no one. */
  function requestsLost(): void {
    for (const [id, request] of pending) {
      if (!request.sent) continue;
      request.sent = false;
      if (!request.idempotent) settleRequest(id, new RequestError('disconnected', `connection lost before the reply to '${request.type}'`));
    }
  }

  function startAttempt(reason: StateReason): void {
    clearTimeout(retryTimer);
    attempt++;
    const current = ++generation;
    setState('connecting', reason);
    if (current !== generation) return;
    connectTimer = setTimeout(() => connectionLost('connect-timeout'), connectTimeout);
    const source = options.url;
    Promise.resolve()
      .then(() => (typeof source === 'function' ? source() : source))
      .then(
        (url) => {
          if (current === generation) openSocket(String(url), current);
        },
        (error: unknown) => {
          if (current === generation) connectionLost('connect-error', { error });
        },
      );
  }

  function openSocket(url: string, current: number): void {
    let ws: WebSocketLike;
    try {
      ws = new WebSocketClass!(url, options.protocols);
      ws.binaryType = 'arraybuffer';
    } catch (error) {
      connectionLost('connect-error', { error });
      return;
    }
    socket = ws;
    ws.onopen = () => current === generation && opened();
    ws.onmessage = (event) => current === generation && received(event.data);
    ws.onclose = (event) =>
      current === generation && connectionLost('socket-closed', { code: event.code, closeReason: event.reason });
    // `error` is always followed by `close`, which does the work. The handler stays set even
    // after the socket is abandoned: EventEmitter-based sockets (ws) throw an error nobody listens to.
    ws.onerror = ignore;
  }

  function opened(): void {
    clearTimeout(connectTimer);
    stableTimer = setTimeout(() => (attempt = 0), minOpenTime);
    if (resume && lastSeq.size > 0) transmit(resumeFrame(lastSeq));
    // Idempotent requests that were in flight when the last connection dropped go first: they are older than the queue.
    for (const request of pending.values()) {
      if (!request.sent && !request.queued) {
        socket!.send(request.payload);
        request.sent = true;
      }
    }
    flushQueue();
    if (heartbeatInterval > 0) heartbeatTimer = setTimeout(beat, heartbeatInterval);
    setState('open', 'open');
  }

  /** The current attempt or connection is over: decide between giving up and retrying. */
  function connectionLost(reason: StateReason, extra: Partial<StateChange> = {}): void {
    abandonSocket();
    requestsLost();
    const code = extra.code;
    if (code !== undefined && fatalCodes.includes(code)) {
      finish('fatal-code', extra);
      if (authFailureCodes.includes(code)) options.onAuthFailure?.({ code, reason: extra.closeReason ?? '' });
      return;
    }
    if (attempt >= maxAttempts) {
      finish('max-attempts', extra);
      return;
    }
    const delay = backoffDelay(attempt, backoff, random);
    const current = generation;
    retryTimer = setTimeout(() => current === generation && startAttempt('retry'), delay);
    setState('reconnecting', reason, { ...extra, attempt: attempt + 1, delay, nextRetryAt: Date.now() + delay });
  }

  /**
   * Enters `closed`: nothing more is sent, and everything still waiting is reported — after
   * the state event, so a listener that calls `connect()` starts a clean cycle.
   */
  function finish(reason: StateReason, extra?: Partial<StateChange>, code?: number, closeReason?: string): void {
    const unsent = queue.takeAll();
    const waiting = [...pending.keys()];
    clearTimeout(retryTimer);
    clearTimeout(expiryTimer);
    onlineTarget?.removeEventListener('online', onOnline);
    onlineTarget?.removeEventListener('offline', onOffline);
    abandonSocket(code, closeReason);
    setState('closed', reason, extra);
    for (const item of unsent) dropped(item.meta, 'closed');
    for (const id of waiting) settleRequest(id, new RequestError('closed', 'the client was closed'));
  }

  // ── heartbeat and network hints ───────────────────────────────────────────

  function beat(): void {
    transmit({ t: 'ping', ts: Date.now() });
    awaitingPong = true;
    heartbeatTimer = setTimeout(() => connectionLost('heartbeat-timeout'), heartbeatTimeout);
  }

  /** The network changed under an open socket: check now that it still carries traffic. */
  function probe(): void {
    if (state === 'open' && heartbeatInterval > 0 && !awaitingPong) {
      clearTimeout(heartbeatTimer);
      beat();
    }
  }

  function onOnline(): void {
    if (state === 'reconnecting') startAttempt('online');
    else probe();
  }

  function onOffline(): void {
    probe();
  }

  // ── outgoing ──────────────────────────────────────────────────────────────

  function transmit(frame: ClientFrame): void {
    socket?.send(serializer.encode(frame));
  }

  function dropped(meta: Outgoing, reason: DropReason): void {
    emit('drop', { reason, kind: meta.kind, type: meta.type, data: meta.data });
    if (meta.id !== undefined) {
      settleRequest(meta.id, new RequestError(reason === 'closed' ? 'closed' : 'dropped', `'${meta.type}' was not sent (${reason})`));
    }
  }

  /** Sends now if a socket is open, else queues; reports a drop when the queue refuses. */
  function dispatch(payload: string | Uint8Array, meta: Outgoing): SendResult {
    if (state === 'open' && socket?.readyState === OPEN) {
      socket.send(payload);
      return 'sent';
    }
    expireQueue();
    const item = queue.push(payload, meta, Date.now());
    if (!item) {
      dropped(meta, 'queue-full');
      return 'dropped';
    }
    if (meta.id !== undefined) pending.get(meta.id)!.queued = item;
    armExpiry();
    return 'queued';
  }

  function expireQueue(): void {
    for (const item of queue.expire(Date.now())) dropped(item.meta, 'expired');
  }

  function armExpiry(): void {
    clearTimeout(expiryTimer);
    const at = queue.nextExpiry();
    if (at !== undefined) {
      expiryTimer = setTimeout(() => {
        expireQueue();
        armExpiry();
      }, at - Date.now());
    }
  }

  function flushQueue(): void {
    expireQueue();
    clearTimeout(expiryTimer);
    for (const item of queue.takeAll()) {
      socket!.send(item.payload);
      const request = item.meta.id === undefined ? undefined : pending.get(item.meta.id);
      if (request) {
        request.queued = undefined;
        request.sent = true;
      }
    }
  }

  function settleRequest(id: number, outcome: RequestError | { value: unknown }): void {
    const request = pending.get(id);
    if (!request) return;
    pending.delete(id);
    clearTimeout(request.timer);
    if (request.queued) queue.remove(request.queued);
    if (outcome instanceof RequestError) request.reject(outcome);
    else request.resolve(outcome.value);
  }

  // ── incoming ──────────────────────────────────────────────────────────────

  /** Runs `task` now, or after the asynchronous validation in flight, so frames are handled in arrival order. */
  function inOrder(task: () => void | Promise<void>): void {
    const run = inbox ? inbox.then(task) : task();
    if (run instanceof Promise) {
      const tail = run.then(() => {
        if (inbox === tail) inbox = undefined;
      });
      inbox = tail;
    }
  }

  /** Calls `then` with the validation result, synchronously when the validator is synchronous. */
  function validated(validator: Validator<unknown> | undefined, data: unknown, then: (result: Checked) => void): void | Promise<void> {
    const result = validator ? check(validator, data) : { ok: true as const, value: data };
    return result instanceof Promise ? result.then(then) : then(result);
  }

  function received(raw: unknown): void {
    if (awaitingPong) {
      awaitingPong = false;
      clearTimeout(heartbeatTimer);
      heartbeatTimer = setTimeout(beat, heartbeatInterval);
    }
    let value: unknown;
    try {
      value = serializer.decode(raw instanceof ArrayBuffer ? new Uint8Array(raw) : (raw as string | Uint8Array));
    } catch (error) {
      emit('invalid', { kind: 'undecodable', data: raw, error });
      return;
    }
    const parsed = parseServerFrame(value);
    if (!parsed.ok) {
      emit('invalid', { kind: 'envelope', data: value, error: parsed.error });
      return;
    }
    const frame = parsed.frame;
    if (frame.t === 'ping') transmit({ t: 'pong', ts: frame.ts });
    else if (frame.t !== 'pong') inOrder(() => handle(frame));
  }

  /**
   * Accounts for `seq` of `topic` (a stamped message, or a skip standing in for one): false
   * when it was already seen (a replay overlapping what arrived); a jump is reported as a gap.
   */
  function advance(topic: string, seq: number, epoch?: string, id?: string): boolean {
    const last = lastSeq.get(topic);
    if (last !== undefined && epoch !== undefined && last.epoch !== undefined && epoch !== last.epoch) {
      // Another numbering of the topic: the old seq says nothing about this one. The server
      // says resync first; should it not have, the app is told here rather than left with a hole.
      lastSeq.delete(topic);
      emit('resync', { topic });
    } else {
      if (last !== undefined && seq <= last.seq) return false;
      if (last !== undefined && seq > last.seq + 1) emit('gap', { topic, from: last.seq + 1, to: seq - 1 });
    }
    lastSeq.set(topic, place(seq, epoch ?? last?.epoch, id));
    return true;
  }

  function handle(frame: Exclude<ServerFrame, { t: 'ping' | 'pong' }>): void | Promise<void> {
    switch (frame.t) {
      case 'res': {
        const request = pending.get(frame.id);
        if (!request) return; // a late reply to a request that already timed out
        if (!frame.ok) {
          settleRequest(frame.id, new RequestError('remote', frame.error.message, frame.error));
          return;
        }
        return validated(replyValidators[request.type], frame.data, (result) =>
          settleRequest(
            frame.id,
            result.ok ? { value: result.value } : new RequestError('invalid-reply', `invalid reply to '${request.type}'`, undefined, result.issues),
          ),
        );
      }
      case 'resync':
        lastSeq.delete(frame.topic);
        emit('resync', { topic: frame.topic });
        return;
      case 'pos': {
        const last = lastSeq.get(frame.topic);
        // The subscription's starting point: kept unless the client is already further along this stream.
        if (last === undefined || last.epoch !== frame.epoch || frame.seq >= last.seq) {
          lastSeq.set(frame.topic, place(frame.seq, frame.epoch, frame.id));
        }
        return;
      }
      case 'gap': {
        const last = lastSeq.get(frame.topic);
        // The entry at `to` was never seen: its id is unknown, the epoch stays.
        if (last === undefined || frame.to > last.seq) lastSeq.set(frame.topic, place(frame.to, last?.epoch, undefined));
        emit('gap', { topic: frame.topic, from: frame.from, to: frame.to });
        return;
      }
      case 'skip':
        advance(frame.topic, frame.seq, frame.epoch, frame.id);
        return;
      case 'msg': {
        const { type, topic, seq } = frame;
        if (topic !== undefined && seq !== undefined && !advance(topic, seq, frame.epoch, frame.id)) return;
        return validated(serverValidators[type], frame.data, (result) => {
          if (result.ok) messages.emit(type, result.value, topic === undefined ? {} : { topic, seq });
          else emit('invalid', { kind: 'payload', type, data: frame.data, issues: result.issues });
        });
      }
    }
  }

  // ── the app's API ─────────────────────────────────────────────────────────

  function connect(): void {
    if (state !== 'idle' && state !== 'closed') return;
    attempt = 0;
    onlineTarget?.addEventListener('online', onOnline);
    onlineTarget?.addEventListener('offline', onOffline);
    startAttempt('connect');
  }

  function close(code = 1000, reason?: string): void {
    if (code !== 1000 && (code < 3000 || code > 4999)) throw new RangeError(`close code must be 1000 or 3000–4999, got ${code}`);
    if (state !== 'closed') finish('app-close', { code }, code, reason);
  }

  function send(type: string, data?: unknown): SendResult {
    const meta: Outgoing = { kind: 'message', type, data };
    if (state === 'closed') {
      dropped(meta, 'closed');
      return 'dropped';
    }
    return dispatch(serializer.encode({ t: 'msg', type, data }), meta);
  }

  function request(type: string, data?: unknown, requestOptions: RequestOptions = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (state === 'closed') {
        reject(new RequestError('closed', 'the client is closed'));
        return;
      }
      const id = nextRequestId++;
      const payload = serializer.encode({ t: 'req', id, type, data });
      const timeout = requestOptions.timeout ?? requestTimeout;
      pending.set(id, {
        type,
        payload,
        idempotent: requestOptions.idempotent ?? false,
        resolve,
        reject,
        timer: setTimeout(() => settleRequest(id, new RequestError('timeout', `no reply to '${type}' within ${timeout} ms`)), timeout),
        queued: undefined,
        sent: false,
      });
      if (dispatch(payload, { kind: 'request', type, data, id }) === 'sent') pending.get(id)!.sent = true;
    });
  }

  const client = {
    get state() {
      return state;
    },
    send,
    request,
    on: messages.on,
    onEvent: events.on,
    connect,
    close,
    position: (topic: string): StreamPosition | undefined => lastSeq.get(topic),
    resumeFrom: (topic: string, position: StreamPosition): void => {
      if (!Number.isSafeInteger(position.seq) || position.seq < 0) throw new RangeError('position.seq must be a non-negative integer');
      const kept = place(position.seq, position.epoch, position.id);
      lastSeq.set(topic, kept);
      if (state === 'open' && resume) transmit(resumeFrame(new Map([[topic, kept]])));
    },
  };
  // Deferred a microtask so the app can subscribe to the first state change.
  if (options.autoConnect ?? true) queueMicrotask(() => state === 'idle' && connect());
  return client as unknown as Client<P>;
}
