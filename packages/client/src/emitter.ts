type Listener = (...args: never[]) => void;

/** A minimal listener registry. A throwing listener is reported and does not stop the others or the client. */
export function createEmitter() {
  const listeners = new Map<string, Set<Listener>>();
  return {
    on(name: string, listener: Listener): () => void {
      let set = listeners.get(name);
      if (!set) listeners.set(name, (set = new Set()));
      set.add(listener);
      return () => void set.delete(listener);
    },
    emit(name: string, ...args: unknown[]): void {
      const set = listeners.get(name);
      if (!set) return;
      for (const listener of [...set]) {
        try {
          (listener as (...values: unknown[]) => void)(...args);
        } catch (error) {
          // Surface the app's bug the way EventTarget does, without breaking the client's own state.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    },
  };
}
