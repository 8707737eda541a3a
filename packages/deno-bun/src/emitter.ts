/**
 * A small typed event emitter with the `on`/`once`/`off` shape Node users know, written without
 * `node:events` so the adapter stays idiomatic on Deno (where EventEmitter is a compat shim).
 * A listener that throws does not stop the others; the error goes to `onListenerError`.
 */

/** Maps event names to listener signatures. */
export type EventMap<Events> = { [E in keyof Events]: (...args: never[]) => unknown };

type Listener = (...args: unknown[]) => unknown;

export class TypedEmitter<Events extends EventMap<Events>> {
  readonly #listeners = new Map<keyof Events, Listener[]>();

  on<E extends keyof Events>(event: E, listener: Events[E]): this {
    const list = this.#listeners.get(event);
    if (list) list.push(listener as unknown as Listener);
    else this.#listeners.set(event, [listener as unknown as Listener]);
    return this;
  }

  /** Alias of `on`, for code written against Node's EventEmitter. */
  addListener<E extends keyof Events>(event: E, listener: Events[E]): this {
    return this.on(event, listener);
  }

  once<E extends keyof Events>(event: E, listener: Events[E]): this {
    const wrapper = ((...args: unknown[]) => {
      this.#remove(event, wrapper);
      return (listener as unknown as Listener)(...args);
    }) as Listener & { original?: unknown };
    wrapper.original = listener;
    const list = this.#listeners.get(event);
    if (list) list.push(wrapper);
    else this.#listeners.set(event, [wrapper]);
    return this;
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): this {
    this.#remove(event, listener as unknown as Listener);
    return this;
  }

  /** Alias of `off`. */
  removeListener<E extends keyof Events>(event: E, listener: Events[E]): this {
    return this.off(event, listener);
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /**
   * Calls the listeners in order and returns what they returned that was a promise, so callers
   * can apply read backpressure to asynchronous handlers.
   */
  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): Promise<unknown>[] | undefined {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) return undefined;
    let pending: Promise<unknown>[] | undefined;
    for (const listener of list.length === 1 ? list : [...list]) {
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

  #remove(event: keyof Events, listener: unknown): void {
    const list = this.#listeners.get(event);
    if (!list) return;
    const index = list.findIndex((l) => l === listener || (l as { original?: unknown }).original === listener);
    if (index >= 0) list.splice(index, 1);
  }
}
