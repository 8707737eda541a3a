/**
 * The default broker: everything in this process. Sequence numbers come from one counter per
 * topic and delivery is synchronous inside `publish`, so publish order is seq order is
 * delivery order. Several hubs in one process may share an instance, each as its own node.
 */
import type {
  Broker,
  BrokerContext,
  BrokerEntry,
  BrokerSession,
  HistoryOptions,
  PresenceMember,
} from './broker.js';
import { TopicHistory } from './history.js';

export interface MemoryBrokerOptions {
  /**
   * History bounds for every topic. Default: those of the first hub that connects, so a
   * single hub's `history` option is all most apps set.
   */
  readonly history?: HistoryOptions;
}

export class MemoryBroker implements Broker {
  readonly #nodes = new Set<BrokerContext>();
  readonly #subscribers = new Map<string, Set<BrokerContext>>();
  readonly #histories = new Map<string, TopicHistory>();
  readonly #presence = new Map<string, Map<string, PresenceMember<unknown>>>();
  #history: HistoryOptions | undefined;
  #clock: (() => number) | undefined;

  constructor(options: MemoryBrokerOptions = {}) {
    this.#history = options.history;
  }

  async connect(context: BrokerContext): Promise<BrokerSession> {
    this.#history ??= context.history;
    this.#clock ??= () => context.now();
    this.#nodes.add(context);
    context.onStatus({ state: 'up', resumed: false, dataLost: false });
    return this.#session(context);
  }

  #session(node: BrokerContext): BrokerSession {
    const now = (): number => (this.#clock ?? node.now)();
    return {
      publish: async (request) => {
        const history = this.#topicHistory(request.topic);
        const seq = history.nextSeq(request.floor);
        const entry: BrokerEntry = {
          topic: request.topic,
          seq,
          id: seq.toString(36),
          type: request.type,
          data: request.data,
          publishedAt: request.publishedAt,
          except: request.except,
          epoch: history.epoch,
        };
        history.append(entry, now());
        const nodes = this.#subscribers.get(request.topic);
        if (nodes) for (const target of nodes) target.onEntry(entry);
        return entry;
      },
      subscribe: async (topic) => {
        if (!this.#nodes.has(node)) return;
        let nodes = this.#subscribers.get(topic);
        if (!nodes) this.#subscribers.set(topic, (nodes = new Set()));
        nodes.add(node);
      },
      unsubscribe: async (topic) => {
        const nodes = this.#subscribers.get(topic);
        if (!nodes) return;
        nodes.delete(node);
        if (nodes.size === 0) this.#subscribers.delete(topic);
      },
      readAfter: async (topic, after) => this.#topicHistory(topic).readAfter(after, now()),
      raiseFloor: async (topic, floor) => this.#topicHistory(topic).raiseFloor(floor),
      presenceJoin: async (topic, member) => {
        let members = this.#presence.get(topic);
        if (!members) this.#presence.set(topic, (members = new Map()));
        const type = members.has(member.id) ? 'update' : 'join';
        members.set(member.id, member);
        for (const target of this.#nodes) target.onPresence({ type, topic, member });
      },
      presenceLeave: async (topic, memberId, reason) => this.#leave(topic, memberId, reason),
      presenceList: async (topic) => [...(this.#presence.get(topic)?.values() ?? [])],
      close: async () => this.#detach(node),
    };
  }

  #leave(topic: string, memberId: string, reason: 'left' | 'disconnected' | 'expired'): void {
    const members = this.#presence.get(topic);
    const member = members?.get(memberId);
    if (!members || !member) return;
    members.delete(memberId);
    if (members.size === 0) this.#presence.delete(topic);
    for (const target of this.#nodes) target.onPresence({ type: 'leave', topic, member, reason });
  }

  #detach(node: BrokerContext): void {
    if (!this.#nodes.delete(node)) return;
    for (const [topic, nodes] of this.#subscribers) {
      nodes.delete(node);
      if (nodes.size === 0) this.#subscribers.delete(topic);
    }
    for (const [topic, members] of [...this.#presence]) {
      for (const member of [...members.values()]) {
        if (member.nodeId === node.nodeId) this.#leave(topic, member.id, 'disconnected');
      }
    }
  }

  #topicHistory(topic: string): TopicHistory {
    let history = this.#histories.get(topic);
    if (!history) {
      history = new TopicHistory(this.#history ?? { maxCount: 0, maxAgeMs: 0 });
      this.#histories.set(topic, history);
    }
    return history;
  }
}
