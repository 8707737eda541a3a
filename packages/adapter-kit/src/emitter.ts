/**
 * A small typed event emitter with the `on`/`once`/`off` shape Node users know, written without
 * `node:events` so the adapter stays idiomatic on Deno (where EventEmitter is a compat shim).
 * A listener that throws does not stop the others; the error goes to `onListenerError`.
 *
 * Every connection is an emitter, so its footprint counts: the table of listeners is made on
 * the first `on`, and an event with one listener keeps the function itself, not an array
 * (as Node's EventEmitter does).
 */

/** Maps event names to listener signatures. */
export type EventMap<Events> = { [E in keyof Events]: (...args: never[]) => unknown };

type Listener = ((...args: unknown[]) => unknown) & { original?: unknown };
type Slot = Listener | Listener[] | undefined;
type ListenerTable = Record<PropertyKey, Slot>;

/**
 * The prototype of every listener table: it has no properties, so an event named like an
 * `Object.prototype` member (`toString`, `constructor`) finds nothing it did not register. Tables
 * are made with `Object.create` of it, which keeps them fast-property objects (unlike
 * `Object.create(null)`, which starts in dictionary mode).
 */
const NOTHING_INHERITED: object = Object.create(null) as object;

export class TypedEmitter<Events extends EventMap<Events>> {
  #listeners: ListenerTable | undefined;

  on<E extends keyof Events>(event: E, listener: Events[E]): this {
    this.#add(event, listener as unknown as Listener);
    return this;
  }

  /** Alias of `on`, for code written against Node's EventEmitter. */
  addListener<E extends keyof Events>(event: E, listener: Events[E]): this {
    return this.on(event, listener);
  }

  once<E extends keyof Events>(event: E, listener: Events[E]): this {
    const wrapper: Listener = (...args: unknown[]) => {
      this.#remove(event, wrapper);
      return (listener as unknown as Listener)(...args);
    };
    wrapper.original = listener;
    this.#add(event, wrapper);
    return this;
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): this {
    this.#remove(event, listener);
    return this;
  }

  /** Alias of `off`. */
  removeListener<E extends keyof Events>(event: E, listener: Events[E]): this {
    return this.off(event, listener);
  }

  listenerCount(event: keyof Events): number {
    const slot = this.#listeners?.[event];
    return slot === undefined ? 0 : typeof slot === 'function' ? 1 : slot.length;
  }

  /**
   * Calls the listeners in order and returns what they returned that was a promise, so callers
   * can apply read backpressure to asynchronous handlers.
   */
  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): Promise<unknown>[] | undefined {
    const slot = this.#listeners?.[event];
    if (slot === undefined) return undefined;
    if (typeof slot === 'function') {
      try {
        const result = slot(...(args as unknown[]));
        return result instanceof Promise ? [result] : undefined;
      } catch (error) {
        this.onListenerError(error);
        return undefined;
      }
    }
    let pending: Promise<unknown>[] | undefined;
    // A copy: listeners may add or remove listeners (a `once` removes itself) while we iterate.
    for (const listener of slot.slice()) {
      try {
        const result = listener(...(args as unknown[]));
        if (result instanceof Promise) (pending ??= []).push(result);
      } catch (error) {
        this.onListenerError(error);
      }
    }
    return pending;
  }

  /** What happens to an error thrown by a listener; subclasses route it to their `error` event. */
  protected onListenerError(error: unknown): void {
    queueMicrotask(() => {
      throw error;
    });
  }

  #add(event: keyof Events, listener: Listener): void {
    const table = (this.#listeners ??= Object.create(NOTHING_INHERITED) as ListenerTable);
    const slot = table[event];
    if (slot === undefined) table[event] = listener;
    else if (typeof slot === 'function') table[event] = [slot, listener];
    else slot.push(listener);
  }

  #remove(event: keyof Events, listener: unknown): void {
    const table = this.#listeners;
    const slot = table?.[event];
    if (table === undefined || slot === undefined) return;
    const matches = (l: Listener): boolean => l === listener || l.original === listener;
    if (typeof slot === 'function') {
      if (matches(slot)) table[event] = undefined;
      return;
    }
    const index = slot.findIndex(matches);
    if (index < 0) return;
    slot.splice(index, 1);
    if (slot.length === 0) table[event] = undefined;
  }
}
