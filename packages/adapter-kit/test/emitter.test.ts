// The typed emitter every connection and server is built on: Node's on/once/off semantics with a
// listener table that is made on first use and keeps a lone listener without an array.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../src/emitter.js';

interface Events {
  message: (value: number) => unknown;
  close: () => void;
  toString: () => void;
  constructor: () => void;
}

class Probe extends TypedEmitter<Events> {
  readonly thrown: unknown[] = [];
  fire<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): Promise<unknown>[] | undefined {
    return this.emit(event, ...args);
  }
  protected override onListenerError(error: unknown): void {
    this.thrown.push(error);
  }
}

describe('TypedEmitter', () => {
  it('calls listeners in registration order, once listeners only once', () => {
    const probe = new Probe();
    const calls: string[] = [];
    probe.on('message', (v) => calls.push(`a${v}`));
    probe.once('message', (v) => calls.push(`b${v}`));
    probe.on('message', (v) => calls.push(`c${v}`));
    probe.fire('message', 1);
    probe.fire('message', 2);
    expect(calls).toEqual(['a1', 'b1', 'c1', 'a2', 'c2']);
    expect(probe.listenerCount('message')).toBe(2);
  });

  it('off removes a listener, and a once listener by the function given to once', () => {
    const probe = new Probe();
    const calls: string[] = [];
    const lone = (): void => void calls.push('lone');
    probe.on('close', lone).off('close', lone);
    probe.fire('close');
    const onceListener = (): void => void calls.push('once');
    probe.once('close', onceListener).off('close', onceListener);
    probe.fire('close');
    expect(calls).toEqual([]);
    expect(probe.listenerCount('close')).toBe(0);
    probe.on('close', lone);
    probe.fire('close');
    expect(calls).toEqual(['lone']);
  });

  it('knows no listener for names that Object.prototype has', () => {
    const probe = new Probe();
    expect(probe.listenerCount('toString')).toBe(0);
    expect(probe.listenerCount('constructor')).toBe(0);
    expect(probe.fire('toString')).toBeUndefined();
    probe.on('message', () => undefined);
    expect(probe.listenerCount('constructor')).toBe(0);
    let called = 0;
    probe.on('constructor', () => void (called += 1));
    probe.fire('constructor');
    expect(called).toBe(1);
  });

  it('returns the promises listeners returned, and routes a throwing listener to onListenerError', async () => {
    const probe = new Probe();
    probe.on('message', async (v) => v * 2);
    expect(await Promise.all(probe.fire('message', 21) ?? [])).toEqual([42]);
    const failure = new Error('listener failed');
    const after: number[] = [];
    probe.on('message', () => {
      throw failure;
    });
    probe.on('message', (v) => void after.push(v));
    probe.fire('message', 1);
    expect(probe.thrown).toEqual([failure]);
    expect(after).toEqual([1]);
  });

  it('a listener removed during an emit still hears that emit, not the next ones', () => {
    const probe = new Probe();
    const calls: string[] = [];
    const second = (): void => void calls.push('second');
    probe.on('close', () => {
      calls.push('first');
      probe.off('close', second);
    });
    probe.on('close', second);
    probe.fire('close');
    probe.fire('close');
    expect(calls).toEqual(['first', 'second', 'first']);
  });

  it('agrees with a list model under any sequence of on, once, off and emit', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('on' as const), id: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('once' as const), id: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('off' as const), id: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('emit' as const), id: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const probe = new Probe();
        const heard: number[] = [];
        const listeners = [0, 1, 2, 3].map((id) => () => void heard.push(id));
        // The model: Node's semantics, a list of [id, once] in registration order.
        let model: Array<{ id: number; once: boolean }> = [];
        const expected: number[] = [];
        for (const { kind, id } of ops) {
          const listener = listeners[id] as () => void;
          if (kind === 'on') {
            probe.on('close', listener);
            model.push({ id, once: false });
          } else if (kind === 'once') {
            probe.once('close', listener);
            model.push({ id, once: true });
          } else if (kind === 'off') {
            probe.off('close', listener);
            const index = model.findIndex((entry) => entry.id === id);
            if (index >= 0) model.splice(index, 1);
          } else {
            probe.fire('close');
            for (const entry of model) expected.push(entry.id);
            model = model.filter((entry) => !entry.once);
          }
          expect(probe.listenerCount('close')).toBe(model.length);
        }
        expect(heard).toEqual(expected);
      }),
    );
  });
});
