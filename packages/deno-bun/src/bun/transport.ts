import type { Socket, SocketHandler } from 'bun';
import { concatChunks, totalLength, type Transport, type TransportHandler } from '@switchyard/adapter-kit';

/** Up to this many bytes, the chunks of one write are copied into one buffer: one `send(2)`. */
const COALESCE_LIMIT = 128 * 1024;

/** What every Bun socket of this adapter carries in `socket.data`: its transport, once opened. */
export type BunSocketData = BunTransport | undefined;

/**
 * A Bun TCP/TLS socket as a `Transport`. Bun's `socket.write` is unbuffered: it returns how many
 * bytes the kernel took, so the rest is kept here and written from the `drain` callback. Writes
 * made inside Bun's `data` callback are corked by Bun itself (one syscall for all the replies to
 * one read).
 */
export class BunTransport implements Transport {
  readonly #socket: Socket<BunSocketData>;
  #handler: TransportHandler | undefined;
  /** Events that arrived before `attach` (made only then; a server attaches at once). */
  #early: Array<() => void> | undefined;
  readonly #queue: Uint8Array[] = [];
  #pending = 0;
  #ending = false;
  #writeShut = false;
  #peerEnded = false;
  #closed = false;
  #closeError: Error | undefined;

  constructor(socket: Socket<BunSocketData>) {
    this.#socket = socket;
    socket.data = this;
  }

  get remoteAddress(): string {
    return this.#socket.remoteAddress;
  }

  get remotePort(): number {
    return this.#socket.remotePort;
  }

  get pendingBytes(): number {
    return this.#pending;
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(handler: TransportHandler): void {
    this.#handler = handler;
    const early = this.#early;
    this.#early = undefined;
    if (early) for (const replay of early) replay();
    // A handler that takes over a closed transport (a client's connection after its handshake) learns it at once.
    else if (this.#closed) handler.closed(this.#closeError);
  }

  write(chunks: readonly Uint8Array[]): boolean {
    if (this.#closed || this.#ending || chunks.length === 0) return false;
    if (this.#queue.length > 0) {
      for (const chunk of chunks) this.#enqueue(chunk);
      return false;
    }
    const total = totalLength(chunks);
    if (chunks.length > 1 && total <= COALESCE_LIMIT) {
      this.#writeOrQueue(concatChunks(chunks, total));
    } else {
      for (const chunk of chunks) {
        if (this.#queue.length > 0) this.#enqueue(chunk);
        else this.#writeOrQueue(chunk);
      }
    }
    return this.#queue.length === 0;
  }

  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    // Keep reading until the peer's EOF, so its last bytes are consumed rather than answered
    // with a TCP reset (which can destroy our close frame in the peer's receive buffer).
    this.#socket.resume();
    if (this.#queue.length === 0) this.#shutdown();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#queue.length = 0;
    this.#pending = 0;
    this.#socket.terminate();
  }

  pause(): void {
    if (!this.#closed) this.#socket.pause();
  }

  resume(): void {
    if (!this.#closed) this.#socket.resume();
  }

  /** Bun's `data` callback. */
  onData(chunk: Uint8Array): void {
    if (this.#handler) this.#handler.data(chunk);
    else (this.#early ??= []).push(() => this.#handler?.data(chunk));
  }

  /** Bun's `drain` callback: the kernel has room again. */
  onDrain(): void {
    while (this.#queue.length > 0) {
      const chunk = this.#queue[0] as Uint8Array;
      const written = this.#socket.write(chunk);
      if (written < 0) return;
      this.#pending -= written;
      if (written < chunk.byteLength) {
        this.#queue[0] = chunk.subarray(written);
        return;
      }
      this.#queue.shift();
    }
    if (this.#ending) {
      this.#shutdown();
      return;
    }
    this.#handler?.drain();
  }

  /** Bun's `end` callback: the peer sent FIN. */
  onEnd(): void {
    this.#peerEnded = true;
    if (this.#writeShut) this.#socket.end();
    if (this.#handler) this.#handler.end();
    else (this.#early ??= []).push(() => this.#handler?.end());
  }

  /** Bun's `close` callback. */
  onClose(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    this.#queue.length = 0;
    this.#pending = 0;
    if (this.#handler) this.#handler.closed(error);
    else (this.#early ??= []).push(() => this.#handler?.closed(error));
  }

  /** FIN on our side; the socket closes when the peer's FIN arrives (or at the close timeout). */
  #shutdown(): void {
    if (this.#writeShut) return;
    this.#writeShut = true;
    if (this.#peerEnded) this.#socket.end();
    else this.#socket.shutdown();
  }

  #writeOrQueue(chunk: Uint8Array): void {
    const written = this.#socket.write(chunk);
    if (written === chunk.byteLength) return;
    if (written < 0) return; // closed underneath us; the close callback follows
    this.#enqueue(chunk.subarray(written));
  }

  #enqueue(chunk: Uint8Array): void {
    this.#queue.push(chunk);
    this.#pending += chunk.byteLength;
  }
}

/** The socket callbacks shared by every Bun listener and connection of this adapter. */
export function bunSocketHandlers(onOpen?: (transport: BunTransport) => void): SocketHandler<BunSocketData> {
  return {
    // Plain Uint8Arrays: the codec needs nothing of Buffer, and they are cheaper to create.
    binaryType: 'uint8array',
    open(socket) {
      const transport = new BunTransport(socket);
      onOpen?.(transport);
    },
    data(socket, data) {
      socket.data?.onData(data);
    },
    drain(socket) {
      socket.data?.onDrain();
    },
    end(socket) {
      socket.data?.onEnd();
    },
    close(socket, error) {
      socket.data?.onClose(error);
    },
    error(socket, error) {
      socket.data?.onClose(error);
    },
  };
}
