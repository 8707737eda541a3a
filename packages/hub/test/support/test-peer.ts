/**
 * A PeerConnection that keeps what it is sent: the environment of the hub's unit tests.
 * `bufferedAmount` can be made to grow with every frame (a peer that stopped reading) and
 * drained at will.
 */
import type { PeerConnection, PreparedMessage, SendResult } from '@switchyard/codec';

const decoder = new TextDecoder();

export type Received =
  | { readonly t: 'msg'; readonly type: string; readonly data?: unknown; readonly topic?: string; readonly seq?: number }
  | { readonly t: 'gap'; readonly topic: string; readonly from: number; readonly to: number }
  | { readonly t: 'resync'; readonly topic: string }
  | { readonly t: 'skip'; readonly topic: string; readonly seq: number };

export type Position = { readonly t: 'pos'; readonly topic: string; readonly seq: number; readonly epoch?: string; readonly id?: string };
export type RawFrame = (Received & { readonly epoch?: string; readonly id?: string }) | Position;

export class TestPeer implements PeerConnection {
  readonly texts: string[] = [];
  readonly prepared: PreparedMessage[] = [];
  bufferedAmount = 0;
  /** When true, every accepted frame stays in `bufferedAmount` until `drain()`. */
  stalled = false;
  closed: { code: number | undefined; reason: string | undefined } | undefined;
  #closeListeners: Array<(code: number, reason: string) => void> = [];

  send(data: string | Uint8Array): SendResult {
    if (this.closed) return { status: 'dropped', reason: 'closed', bufferedAmount: this.bufferedAmount };
    const text = typeof data === 'string' ? data : decoder.decode(data);
    this.texts.push(text);
    return this.#accepted(text.length);
  }

  sendPrepared(message: PreparedMessage): SendResult {
    if (this.closed) return { status: 'dropped', reason: 'closed', bufferedAmount: this.bufferedAmount };
    this.prepared.push(message);
    this.texts.push(decoder.decode(message.payload));
    return this.#accepted(message.byteLength);
  }

  close(code?: number, reason?: string): void {
    if (this.closed) return;
    this.closed = { code, reason };
    const listeners = this.#closeListeners;
    this.#closeListeners = [];
    for (const listener of listeners) listener(code ?? 1005, reason ?? '');
  }

  once(_event: 'close', listener: (code: number, reason: string) => void): this {
    this.#closeListeners.push(listener);
    return this;
  }

  drain(): void {
    this.bufferedAmount = 0;
  }

  /** Everything received, decoded, exactly as sent (with `pos` frames, epochs and entry ids). */
  get raw(): RawFrame[] {
    return this.texts.map((text) => JSON.parse(text) as RawFrame);
  }

  /** What was received about content and order: `pos` frames left out, epoch and id fields dropped. */
  get frames(): Received[] {
    return this.raw.flatMap((frame) => {
      if (frame.t === 'pos') return [];
      const { epoch: _epoch, id: _id, ...rest } = frame as Received & { epoch?: string; id?: string };
      return [rest as Received];
    });
  }

  /** The last `pos` frame of a topic. */
  position(topic: string): Position | undefined {
    return this.raw.filter((f): f is Position => f.t === 'pos' && f.topic === topic).at(-1);
  }

  /** The stamped messages of a topic, as seq numbers. */
  seqs(topic: string): number[] {
    return this.frames.flatMap((f) => (f.t === 'msg' && f.topic === topic && f.seq !== undefined ? [f.seq] : []));
  }

  #accepted(bytes: number): SendResult {
    if (!this.stalled) return { status: 'written', bufferedAmount: 0 };
    this.bufferedAmount += bytes;
    return { status: 'queued', bufferedAmount: this.bufferedAmount };
  }
}

/** Lets promise callbacks queued so far (and those they queue) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
