// The chat's server side: what each protocol message does. Connections come from
// @switchyard/node; rooms, presence, ordering and replay are @switchyard/hub's.
import { parseClientFrame, type ReplyFrame } from '@switchyard/wire';
import { HubError, type BrokerEntry, type Hub, type PresenceChange } from '@switchyard/hub';
import type { WebSocketConnection } from '@switchyard/node';
import {
  ChatCloseCode,
  DEFAULT_ROOM,
  isChatMessage,
  roomFromTopic,
  roomTopic,
  type ChatError,
  type ChatMessage,
  type ChatProtocolShape,
  type RoomSummary,
} from '../protocol.js';
import { checkRoom } from '../rules.js';
import type { ChatBroker } from './chat-broker.js';
import { Refusal, field, parseRoomRequest, parseSay, parseTyping } from './input.js';
import { DEFAULT_RATE_LIMIT, TokenBucket, type RateLimitOptions } from './rate-limit.js';

/** What every presence entry carries: who it is and whether they are typing. */
export interface PresenceMeta {
  readonly name: string;
  readonly typing: boolean;
}

export type ChatHub = Hub<ChatProtocolShape, PresenceMeta, string>;

/** Attached to a connection by the server's `authenticate` hook. */
export type ChatUser = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly reason: string };

type Requests = ChatProtocolShape['requests'];
type ClientEvents = ChatProtocolShape['client'];

/** Rooms that always exist. */
export const DEFAULT_ROOMS: readonly string[] = [DEFAULT_ROOM, 'random'];
/** The app's own topic: one entry per room ever created, followed by every server instance. */
export const ROOMS_TOPIC = 'chat:rooms';
const MAX_ROOMS = 100;
const HISTORY_ON_JOIN = 100;
/** Message ids remembered per room to recognise a message sent twice. */
const REMEMBERED_IDS = 2_000;

/** One connected person. */
class Member {
  room: string | undefined;
  typing = false;
  readonly bucket: TokenBucket;
  constructor(
    readonly socket: WebSocketConnection<ChatUser>,
    readonly name: string,
    readonly hubId: string,
    rateLimit: RateLimitOptions,
  ) {
    this.bucket = new TokenBucket(rateLimit);
  }
}

export interface ChatServiceOptions {
  rateLimit?: RateLimitOptions;
  log?: (line: string) => void;
}

export class ChatService {
  readonly #hub: ChatHub;
  readonly #broker: ChatBroker;
  readonly #rateLimit: RateLimitOptions;
  readonly #log: (line: string) => void;
  readonly #members = new Set<Member>();
  /** Members of this instance by room, for presence and typing news. */
  readonly #local = new Map<string, Set<Member>>();
  readonly #rooms = new Set<string>(DEFAULT_ROOMS);
  readonly #seenIds = new Map<string, Map<string, ChatMessage>>();
  readonly #presenceTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #roomsTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(hub: ChatHub, broker: ChatBroker, options: ChatServiceOptions = {}) {
    this.#hub = hub;
    this.#broker = broker;
    this.#rateLimit = options.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.#log = options.log ?? (() => {});
    broker.watch(ROOMS_TOPIC, (entry) => this.#learnRoom(entry.data));
    broker.observe((entry) => this.#noteStored(entry));
    hub.on('presence', (change) => this.#onPresence(change));
    hub.on('error', (error) => this.#log(`hub: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Loads the rooms created before this instance started. Call once the hub is ready. */
  async start(): Promise<void> {
    for (const entry of await this.#broker.history(ROOMS_TOPIC)) this.#learnRoom(entry.data);
  }

  /** Takes over a new connection: refuses a bad username, then handles its messages in order. */
  accept(socket: WebSocketConnection<ChatUser>): void {
    const user = socket.user;
    socket.on('error', (error) => this.#log(`connection: ${error.message}`));
    if (!user.ok) {
      // The page shows the reason and asks for another name instead of reconnecting.
      socket.close(ChatCloseCode.InvalidUsername, user.reason);
      return;
    }
    const member = new Member(socket, user.name, this.#hub.attach(socket), this.#rateLimit);
    this.#members.add(member);
    socket.once('close', () => {
      this.#members.delete(member);
      if (member.room !== undefined) this.#removeLocal(member, member.room);
      // The hub removes the connection's subscriptions and presence by itself.
    });
    socket.onMessage((data, isBinary) => this.#receive(member, data, isBinary));
  }

  /** Rooms with their head counts (everyone present, on every instance). */
  async roomList(): Promise<RoomSummary[]> {
    const names = [...this.#rooms].sort();
    const counts = await Promise.all(names.map((name) => this.#memberNames(name).then((members) => members.length)));
    return names.map((name, i) => ({ name, online: counts[i] ?? 0 }));
  }

  // ── incoming ─────────────────────────────────────────────────────────────

  async #receive(member: Member, data: string | Uint8Array, isBinary: boolean): Promise<void> {
    // Every message counts against the bucket, garbage included; heartbeat pings never get
    // here (the WebSocket server answers them).
    const verdict = member.bucket.take();
    if (verdict === 'disconnect') {
      member.socket.close(1008, 'too many messages');
      return;
    }
    if (isBinary || typeof data !== 'string') {
      this.#tell(member, { code: 'invalid', message: 'This server speaks JSON text messages only.' });
      return;
    }
    const text = data;
    // A `resume` (sent by the client on reconnect) is the hub's business.
    if (verdict === 'allow' && this.#hub.handle(member.socket, text)) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.#tell(member, { code: 'invalid', message: 'The message is not JSON.' });
      return;
    }
    const parsed = parseClientFrame(value);
    if (!parsed.ok) {
      this.#tell(member, { code: 'invalid', message: `Malformed message: ${parsed.error}.` });
      return;
    }
    const frame = parsed.frame;
    if (frame.t === 'ping') {
      this.#sendRaw(member, { t: 'pong', ts: frame.ts });
      return;
    }
    if (frame.t !== 'msg' && frame.t !== 'req') return; // pongs, and resumes refused by the rate limit
    try {
      if (verdict === 'refuse') throw new Refusal('rate-limited', 'You are sending too fast; wait a moment.');
      if (frame.t === 'msg') await this.#onEvent(member, frame.type, frame.data);
      else this.#reply(member, frame.id, { ok: true, data: await this.#onRequest(member, frame.type, frame.data) });
    } catch (error) {
      const refusal = error instanceof Refusal ? error : this.#internal(error);
      if (frame.t === 'req') this.#reply(member, frame.id, { ok: false, error: { code: refusal.code, message: refusal.message } });
      else this.#tell(member, { code: refusal.code, message: refusal.message });
    }
  }

  #internal(error: unknown): Refusal {
    if (error instanceof HubError && error.code === 'broker-unavailable') {
      return new Refusal('unavailable', 'The chat cannot store messages right now; try again in a moment.');
    }
    this.#log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return new Refusal('internal', 'The server could not do that; try again.');
  }

  // One handler per message and request of the protocol: a missing or misnamed one, or a
  // reply of the wrong shape, does not compile.
  readonly #events: { readonly [K in keyof ClientEvents]: (member: Member, data: unknown) => Promise<void> } = {
    typing: (member, data) => this.#typing(member, parseTyping(data)),
  };

  readonly #requests: { readonly [K in keyof Requests]: (member: Member, data: unknown) => Promise<Requests[K]['res']> } = {
    say: (member, data) => this.#say(member, parseSay(data)),
    join: (member, data) => this.#join(member, parseRoomRequest(data)),
    history: (_member, data) => this.#historyReply(parseRoomRequest(data)),
    rooms: async () => ({ rooms: await this.roomList() }),
  };

  #onEvent(member: Member, type: string, data: unknown): Promise<void> {
    if (!Object.hasOwn(this.#events, type)) throw new Refusal('unknown-type', `Unknown message type "${type.slice(0, 32)}".`);
    return this.#events[type as keyof ClientEvents](member, data);
  }

  #onRequest(member: Member, type: string, data: unknown): Promise<unknown> {
    if (!Object.hasOwn(this.#requests, type)) throw new Refusal('unknown-type', `Unknown request "${type.slice(0, 32)}".`);
    return this.#requests[type as keyof Requests](member, data);
  }

  // ── what each message does ───────────────────────────────────────────────

  async #join(member: Member, { room }: Requests['join']['req']): Promise<Requests['join']['res']> {
    await this.#ensureRoom(room);
    if (member.room !== room) {
      if (member.room !== undefined) await this.#leave(member, member.room);
      member.room = room;
      member.typing = false;
      let local = this.#local.get(room);
      if (local === undefined) this.#local.set(room, (local = new Set()));
      local.add(member);
      // Subscribing replays what the client missed since the seq it sent in its `resume`.
      await this.#hub.subscribe(member.socket, roomTopic(room));
      await this.#hub.presence.join(member.socket, roomTopic(room), { name: member.name, typing: false });
    }
    const [history, members] = await Promise.all([this.#history(room), this.#memberNames(room)]);
    return { room, history, members };
  }

  async #leave(member: Member, room: string): Promise<void> {
    this.#removeLocal(member, room);
    this.#hub.unsubscribe(member.socket, roomTopic(room));
    await this.#hub.presence.leave(member.socket, roomTopic(room));
  }

  async #historyReply({ room }: Requests['history']['req']): Promise<Requests['history']['res']> {
    return { room, history: await this.#history(room) };
  }

  async #say(member: Member, { room, id, text }: Requests['say']['req']): Promise<Requests['say']['res']> {
    await this.#ensureRoom(room);
    const seen = await this.#seen(room);
    // A message re-sent after a reconnect (its first reply was lost) is stored once; the
    // sender gets the stored one back.
    const stored = seen.get(id);
    if (stored !== undefined) return stored;
    const message: ChatMessage = { id, room, from: member.name, text, at: Date.now() };
    remember(seen, message);
    try {
      await this.#hub.publish(roomTopic(room), 'message', message);
    } catch (error) {
      seen.delete(id);
      throw error;
    }
    if (member.typing && member.room === room) await this.#typing(member, { room, typing: false });
    return message;
  }

  async #typing(member: Member, { room, typing }: ClientEvents['typing']): Promise<void> {
    if (member.room !== room) throw new Refusal('not-in-room', `Join #${room} first.`);
    if (member.typing === typing) return;
    member.typing = typing;
    // Typing is presence metadata, so it reaches the room on every server instance and
    // never enters the history.
    await this.#hub.presence.join(member.socket, roomTopic(room), { name: member.name, typing });
  }

  // ── rooms ────────────────────────────────────────────────────────────────

  async #ensureRoom(room: string): Promise<void> {
    if (this.#rooms.has(room)) return;
    if (this.#rooms.size >= MAX_ROOMS) throw new Refusal('invalid', `There are already ${MAX_ROOMS} rooms; join one of them.`);
    this.#rooms.add(room);
    try {
      await this.#broker.publish(ROOMS_TOPIC, 'room', { name: room });
    } catch (error) {
      this.#rooms.delete(room);
      throw error;
    }
    this.#scheduleRoomList();
  }

  #learnRoom(data: string | undefined): void {
    if (data === undefined) return;
    let name: unknown;
    try {
      name = field(JSON.parse(data), 'name');
    } catch {
      return;
    }
    const verdict = checkRoom(name);
    if (!verdict.ok || this.#rooms.has(verdict.value) || this.#rooms.size >= MAX_ROOMS) return;
    this.#rooms.add(verdict.value);
    this.#scheduleRoomList();
  }

  async #history(room: string): Promise<ChatMessage[]> {
    const messages: ChatMessage[] = [];
    for (const entry of await this.#broker.history(roomTopic(room))) {
      if (entry.type !== 'message' || entry.data === undefined) continue;
      const message: unknown = JSON.parse(entry.data);
      if (isChatMessage(message)) messages.push(message);
    }
    return messages.slice(-HISTORY_ON_JOIN);
  }

  /**
   * The messages recently stored in a room, by id. Kept up to date while this instance follows
   * the room (one of its connections is in it: every message, from any instance, passes
   * through `#noteStored`); otherwise read afresh from the history, because another instance
   * may have stored the message this one is asked to store again.
   */
  async #seen(room: string): Promise<Map<string, ChatMessage>> {
    const cached = this.#seenIds.get(room);
    if (cached !== undefined) return cached;
    const loaded = new Map((await this.#history(room)).map((message) => [message.id, message] as const));
    if (!this.#local.get(room)?.size) return loaded;
    const seen = this.#seenIds.get(room) ?? loaded;
    this.#seenIds.set(room, seen);
    return seen;
  }

  #noteStored(entry: BrokerEntry): void {
    const room = roomFromTopic(entry.topic);
    const seen = room === undefined ? undefined : this.#seenIds.get(room);
    if (seen === undefined || entry.type !== 'message' || entry.data === undefined) return;
    let message: unknown;
    try {
      message = JSON.parse(entry.data);
    } catch {
      return; // not one of ours; the hub delivers it regardless
    }
    if (isChatMessage(message)) remember(seen, message);
  }

  #removeLocal(member: Member, room: string): void {
    const local = this.#local.get(room);
    local?.delete(member);
    if (local?.size === 0) {
      this.#local.delete(room);
      // No longer following the room: what this instance knows of its ids goes stale.
      this.#seenIds.delete(room);
    }
  }

  async #memberNames(room: string): Promise<string[]> {
    const members = await this.#hub.presence.list(roomTopic(room));
    // One person with two tabs is one name in the list.
    return [...new Set(members.map((member) => member.meta.name))].sort();
  }

  // ── news for the connections of this instance ────────────────────────────

  #onPresence(change: PresenceChange<PresenceMeta>): void {
    const room = roomFromTopic(change.topic);
    if (room === undefined) return;
    const { name, typing } = change.member.meta;
    if (change.type === 'update' || (change.type === 'leave' && typing)) {
      const stillTyping = change.type === 'update' && typing;
      for (const member of this.#local.get(room) ?? []) {
        if (member.hubId !== change.member.id) this.#hub.send(member.socket, 'typing', { room, name, typing: stillTyping });
      }
    }
    if (change.type !== 'update') {
      this.#schedulePresence(room);
      this.#scheduleRoomList();
    }
  }

  /** Presence news is coalesced: a burst of joins sends one list. */
  #schedulePresence(room: string): void {
    if (this.#presenceTimers.has(room)) return;
    this.#presenceTimers.set(
      room,
      setTimeout(() => {
        this.#presenceTimers.delete(room);
        const local = this.#local.get(room);
        if (local === undefined || local.size === 0) return;
        this.#memberNames(room).then(
          (members) => {
            for (const member of this.#local.get(room) ?? []) this.#hub.send(member.socket, 'presence', { room, members });
          },
          (error: unknown) => this.#internal(error),
        );
      }, 50),
    );
  }

  #scheduleRoomList(): void {
    if (this.#roomsTimer !== undefined) return;
    this.#roomsTimer = setTimeout(() => {
      this.#roomsTimer = undefined;
      if (this.#members.size === 0) return;
      this.roomList().then(
        (rooms) => {
          for (const member of this.#members) this.#hub.send(member.socket, 'rooms', { rooms });
        },
        (error: unknown) => this.#internal(error),
      );
    }, 250);
  }

  /** Stops the timers; the connections are closed by the WebSocket server. */
  stop(): void {
    for (const timer of this.#presenceTimers.values()) clearTimeout(timer);
    this.#presenceTimers.clear();
    clearTimeout(this.#roomsTimer);
  }

  // ── outgoing ─────────────────────────────────────────────────────────────

  #tell(member: Member, error: ChatError): void {
    this.#hub.send(member.socket, 'error', error);
  }

  #reply(member: Member, id: number, outcome: { ok: true; data: unknown } | { ok: false; error: { code: string; message: string } }): void {
    const frame: ReplyFrame = outcome.ok ? { t: 'res', id, ok: true, data: outcome.data } : { t: 'res', id, ok: false, error: outcome.error };
    this.#sendRaw(member, frame);
  }

  #sendRaw(member: Member, frame: object): void {
    member.socket.send(JSON.stringify(frame));
  }
}

function remember(seen: Map<string, ChatMessage>, message: ChatMessage): void {
  seen.set(message.id, message);
  if (seen.size > REMEMBERED_IDS) seen.delete(seen.keys().next().value as string);
}
