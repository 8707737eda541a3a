import type { Duplex } from 'node:stream';
import type { Transport, TransportHandler } from '@switchyard/adapter-kit';

const OWNER = Symbol('switchyard.transport');
type OwnedSocket = Duplex & {
  [OWNER]?: NodeSocketTransport;
  remoteAddress?: string;
  remotePort?: number;
  setNoDelay?: (noDelay: boolean) => unknown;
  setTimeout?: (ms: number) => unknown;
};

/** Below this many bytes a batch is joined into one buffer; above, it is written with writev. */
const SMALL_WRITE = 16 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * A Node `net.Socket` / `tls.TLSSocket` (or any Duplex) as the core's `Transport`. Node's fast
 * paths live here: a batch of small frames leaves in one `write`, a large one through `cork` +
 * `writev` without copying payloads, and the socket's listeners are shared functions that find
 * their transport through the socket, so an idle connection carries no closures.
 */
export class NodeSocketTransport implements Transport {
  readonly #socket: OwnedSocket;
  #handler: TransportHandler | undefined;
  /** Bytes that arrived before `attach` (the socket is paused until then). */
  #early: Uint8Array[] | undefined;
  #closed = false;
  #closeError: Error | undefined;
  /** A write left bytes in Node's buffer: tell the handler when they are gone. */
  #drainOwed = false;

  constructor(socket: Duplex) {
    const owned = socket as OwnedSocket;
    this.#socket = owned;
    owned.setNoDelay?.(true);
    owned.setTimeout?.(0);
    owned[OWNER] = this;
    socket.on('data', NodeSocketTransport.#onData);
    socket.on('end', NodeSocketTransport.#onEnd);
    socket.on('error', NodeSocketTransport.#onError);
    socket.on('close', NodeSocketTransport.#onClose);
    socket.on('drain', NodeSocketTransport.#onDrain);
  }

  get remoteAddress(): string {
    return this.#socket.remoteAddress ?? '';
  }

  get remotePort(): number {
    return this.#socket.remotePort ?? 0;
  }

  get pendingBytes(): number {
    return this.#socket.writableLength;
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(handler: TransportHandler): void {
    this.#handler = handler;
    const early = this.#early;
    this.#early = undefined;
    if (early !== undefined) for (const chunk of early) handler.data(chunk);
    if (this.#closed) {
      handler.closed(this.#closeError);
      return;
    }
    // A client's socket was paused after its handshake so no byte could slip past a listener.
    this.#socket.resume();
  }

  write(chunks: readonly Uint8Array[]): boolean {
    const socket = this.#socket;
    if (this.#closed || !socket.writable || chunks.length === 0) return chunks.length === 0 && socket.writableLength === 0;
    let ok: boolean;
    if (chunks.length === 1) {
      ok = socket.write(chunks[0] as Uint8Array);
    } else {
      let total = 0;
      for (let i = 0; i < chunks.length; i++) total += (chunks[i] as Uint8Array).byteLength;
      if (total <= SMALL_WRITE) {
        ok = socket.write(Buffer.concat(chunks, total));
      } else {
        socket.cork();
        ok = true;
        for (let i = 0; i < chunks.length; i++) ok = socket.write(chunks[i] as Uint8Array);
        socket.uncork();
      }
    }
    if (socket.writableLength === 0) return true;
    if (!this.#drainOwed) {
      this.#drainOwed = true;
      // Node emits 'drain' only after a write returned false; below its buffer's mark, an empty
      // write's callback says when everything before it has reached the kernel.
      if (ok) socket.write(EMPTY, () => this.#drained());
    }
    return false;
  }

  end(): void {
    if (!this.#socket.writableEnded) this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    if (this.#handler !== undefined) this.#socket.resume();
  }

  #drained(): void {
    if (!this.#drainOwed || this.#socket.writableLength > 0) return;
    this.#drainOwed = false;
    this.#handler?.drain();
  }

  static #onData(this: OwnedSocket, chunk: Buffer): void {
    const transport = this[OWNER];
    if (transport === undefined) return;
    if (transport.#handler !== undefined) {
      transport.#handler.data(chunk);
      return;
    }
    (transport.#early ??= []).push(chunk);
    this.pause();
  }

  static #onEnd(this: OwnedSocket): void {
    const transport = this[OWNER];
    if (transport !== undefined) transport.#handler?.end();
  }

  static #onError(this: OwnedSocket, error: Error): void {
    // ECONNRESET and friends: 'close' follows and reports it; the connection's close says 1006.
    const transport = this[OWNER];
    if (transport !== undefined) transport.#closeError ??= error;
  }

  static #onClose(this: OwnedSocket): void {
    const transport = this[OWNER];
    if (transport === undefined || transport.#closed) return;
    transport.#closed = true;
    transport.#handler?.closed(transport.#closeError);
  }

  static #onDrain(this: OwnedSocket): void {
    const transport = this[OWNER];
    if (transport !== undefined) transport.#drained();
  }
}
