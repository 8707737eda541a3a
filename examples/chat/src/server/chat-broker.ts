// The broker the chat hands its hub: the real one (memory or Redis) with two additions.
//
// - Reads for the app. The hub replays history to connections as stamped frames; the chat
//   also wants to put a room's recent messages in the reply to `join`, and to keep a list of
//   rooms in a topic of its own that every server instance follows. Both go through the
//   broker session the hub opened.
// - Persistence for the in-memory broker, which lives and dies with the process: with a
//   file configured, the history of each topic is written to JSON a moment after each change
//   and when the hub closes, and on start the saved entries are fed back through the broker
//   with their original sequence numbers. Clients that resume after a restart find the same
//   numbering and the same history as before. (Redis needs none of this: its streams outlive
//   any one server process.)
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Broker, BrokerContext, BrokerEntry, BrokerSession } from '@switchyard/hub';

interface SavedEntry {
  seq: number;
  type: string;
  data: string | undefined;
  publishedAt: number;
}

interface SavedTopic {
  head: number;
  entries: SavedEntry[];
}

interface SavedFile {
  version: 1;
  topics: Record<string, SavedTopic>;
}

export interface ChatBrokerOptions {
  /** Where the history is kept (its directory is created when missing); none: not saved. */
  file?: string | undefined;
  /** How long after a change the file is written; bounds what a crash (not a clean stop) loses. */
  saveDelayMs?: number;
  /** Told when reading or writing the file fails; the chat keeps running either way. */
  onError?: (error: unknown) => void;
}

export class ChatBroker implements Broker {
  readonly #inner: Broker;
  readonly #file: string | undefined;
  readonly #saveDelayMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #topics = new Map<string, SavedTopic>();
  #keep = 100;
  #restored = false;
  #sessions = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #saving: Promise<void> = Promise.resolve();
  #session: BrokerSession | undefined;
  readonly #watchers = new Map<string, (entry: BrokerEntry) => void>();
  #observer: ((entry: BrokerEntry) => void) | undefined;

  constructor(inner: Broker, options: ChatBrokerOptions = {}) {
    this.#inner = inner;
    this.#file = options.file;
    this.#saveDelayMs = options.saveDelayMs ?? 1000;
    this.#onError = options.onError ?? (() => {});
  }

  async connect(context: BrokerContext): Promise<BrokerSession> {
    const session = await this.#inner.connect({
      ...context,
      now: () => context.now(),
      onEntry: (entry) => {
        const watcher = this.#watchers.get(entry.topic);
        if (watcher !== undefined) {
          watcher(entry);
          return;
        }
        this.#observer?.(entry);
        context.onEntry(entry);
      },
      onPresence: (change) => context.onPresence(change),
      onStatus: (status) => context.onStatus(status),
    });
    if (!this.#restored) {
      this.#restored = true;
      this.#keep = Math.max(0, context.history.maxCount);
      if (this.#file !== undefined) await this.#restore(session);
      this.#session = session;
      for (const topic of this.#watchers.keys()) await session.subscribe(topic);
    }
    this.#sessions += 1;
    let open = true;
    return {
      publish: async (request) => {
        const entry = await session.publish(request);
        this.#record(entry);
        return entry;
      },
      subscribe: (topic) => session.subscribe(topic),
      unsubscribe: (topic) => session.unsubscribe(topic),
      readAfter: (topic, after) => session.readAfter(topic, after),
      raiseFloor: async (topic, floor) => {
        await session.raiseFloor(topic, floor);
        const record = this.#topics.get(topic);
        if (record !== undefined && floor > record.head) record.head = floor;
      },
      presenceJoin: (topic, member) => session.presenceJoin(topic, member),
      presenceLeave: (topic, memberId, reason) => session.presenceLeave(topic, memberId, reason),
      presenceList: (topic) => session.presenceList(topic),
      close: async () => {
        if (open) {
          open = false;
          this.#sessions -= 1;
          // The last hub leaving is the process stopping: make sure the file is current.
          if (this.#sessions === 0) await this.flush();
        }
        await session.close();
      },
    };
  }

  /** The retained entries of a topic, oldest first (after the hub connected). */
  async history(topic: string): Promise<readonly BrokerEntry[]> {
    const read = await this.#requireSession().readAfter(topic, 0);
    return read.kind === 'unknown' ? [] : read.entries;
  }

  /**
   * Follows a topic of the app's own (not one any connection subscribes to): `onEntry` gets
   * each entry published to it by any server instance. Call before the hub connects.
   */
  watch(topic: string, onEntry: (entry: BrokerEntry) => void): void {
    this.#watchers.set(topic, onEntry);
    if (this.#session !== undefined) void this.#session.subscribe(topic);
  }

  /** Sees every entry this instance receives for the topics its connections follow. */
  observe(observer: (entry: BrokerEntry) => void): void {
    this.#observer = observer;
  }

  /** Publishes to one of the app's own topics. */
  async publish(topic: string, type: string, data: unknown): Promise<BrokerEntry> {
    const request = { topic, type, data: JSON.stringify(data), publishedAt: Date.now(), except: undefined, floor: 0 };
    const entry = await this.#requireSession().publish(request);
    this.#record(entry);
    return entry;
  }

  #requireSession(): BrokerSession {
    if (this.#session === undefined) throw new Error('the hub has not connected to the broker yet');
    return this.#session;
  }

  /** Writes the file now (also done shortly after every publish and when the last hub closes). */
  flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#save();
  }

  async #restore(session: BrokerSession): Promise<void> {
    const saved = await this.#load();
    for (const [topic, record] of Object.entries(saved.topics)) {
      for (const entry of record.entries) {
        // `floor: seq - 1` makes the inner broker hand out exactly the saved number again.
        await session.publish({ topic, type: entry.type, data: entry.data, publishedAt: entry.publishedAt, except: undefined, floor: entry.seq - 1 });
      }
      await session.raiseFloor(topic, record.head);
      this.#topics.set(topic, { head: record.head, entries: record.entries.slice(-this.#keep) });
    }
  }

  #record(entry: BrokerEntry): void {
    const record = this.#topics.get(entry.topic) ?? { head: 0, entries: [] };
    record.head = Math.max(record.head, entry.seq);
    record.entries.push({ seq: entry.seq, type: entry.type, data: entry.data, publishedAt: entry.publishedAt });
    if (record.entries.length > this.#keep) record.entries.splice(0, record.entries.length - this.#keep);
    this.#topics.set(entry.topic, record);
    this.#scheduleSave();
  }

  #scheduleSave(): void {
    if (this.#timer !== undefined || this.#file === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#save();
    }, this.#saveDelayMs);
    this.#timer.unref();
  }

  /** Writes go one after another, each to a temporary file renamed over the old one, so a crash mid-write leaves the previous file whole. */
  #save(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return this.#saving;
    const snapshot: SavedFile = { version: 1, topics: Object.fromEntries(this.#topics) };
    const text = JSON.stringify(snapshot);
    this.#saving = this.#saving.then(async () => {
      try {
        await mkdir(dirname(file), { recursive: true });
        const temporary = `${file}.${process.pid}.tmp`;
        await writeFile(temporary, text);
        await rename(temporary, file);
      } catch (error) {
        this.#onError(error);
      }
    });
    return this.#saving;
  }

  async #load(): Promise<SavedFile> {
    if (this.#file === undefined) return { version: 1, topics: {} };
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.#onError(error);
      return { version: 1, topics: {} };
    }
    try {
      return parseSavedFile(JSON.parse(text) as unknown);
    } catch (error) {
      this.#onError(new Error(`ignoring the unreadable history file ${this.#file}`, { cause: error }));
      return { version: 1, topics: {} };
    }
  }
}

/** Accepts only well-formed entries in increasing seq order; anything else is dropped. */
function parseSavedFile(value: unknown): SavedFile {
  const topics: Record<string, SavedTopic> = {};
  if (typeof value !== 'object' || value === null) return { version: 1, topics };
  const raw = (value as { topics?: unknown }).topics;
  if (typeof raw !== 'object' || raw === null) return { version: 1, topics };
  for (const [topic, record] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof record !== 'object' || record === null) continue;
    const { head, entries } = record as { head?: unknown; entries?: unknown };
    if (!Number.isSafeInteger(head) || !Array.isArray(entries)) continue;
    const kept: SavedEntry[] = [];
    let last = 0;
    for (const item of entries as unknown[]) {
      if (typeof item !== 'object' || item === null) continue;
      const { seq, type, data, publishedAt } = item as Record<string, unknown>;
      if (!Number.isSafeInteger(seq) || (seq as number) <= last || typeof type !== 'string') continue;
      if (data !== undefined && typeof data !== 'string') continue;
      if (typeof publishedAt !== 'number') continue;
      kept.push({ seq: seq as number, type, data, publishedAt });
      last = seq as number;
    }
    topics[topic] = { head: Math.max(head as number, last), entries: kept };
  }
  return { version: 1, topics };
}
