import { concatChunks, type Transport, type TransportHandler } from '@switchyard/adapter-kit';

/**
 * The read buffer of a connection, at first and at least: an idle connection holds this much.
 * Large enough for a browser's upgrade request and for a read of small messages (a window of
 * sixteen 32-byte frames is 608 bytes), so neither the handshake nor small traffic costs more
 * reads than a bigger buffer would.
 */
const READ_MIN = 1024;
/** …and at most: a burst of big frames arrives whole in few reads. */
const READ_MAX = 256 * 1024;
/** One `conn.write` carries at most this many bytes of coalesced chunks. */
const WRITE_BATCH = 256 * 1024;
/** Batches from this size on are copied into a buffer reused by the connection. */
const REUSE_FROM = 16 * 1024;

/**
 * A `Deno.Conn` (TCP or TLS) as a `Transport`. Deno's socket API is promise-based: one read loop
 * feeds the handler, and one write pump drains a queue, coalescing every chunk queued while the
 * previous `conn.write` was in flight into the next one (Deno has no writev on sockets).
 */
export class DenoTransport implements Transport {
  readonly #conn: Deno.Conn;
  readonly remoteAddress: string;
  readonly remotePort: number;
  #handler: TransportHandler | undefined;
  readonly #queue: Uint8Array[] = [];
  #queued = 0;
  #inFlight = 0;
  #writing = false;
  #writeBuffer: Uint8Array | undefined;
  #paused = false;
  #resumeReading: (() => void) | undefined;
  #ending = false;
  #writeEnded = false;
  #readEnded = false;
  #closed = false;
  #closeError: Error | undefined;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    const address = conn.remoteAddr as Deno.NetAddr;
    this.remoteAddress = address.hostname ?? '';
    this.remotePort = address.port ?? 0;
  }

  get pendingBytes(): number {
    return this.#queued + this.#inFlight;
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(handler: TransportHandler): void {
    const first = this.#handler === undefined;
    this.#handler = handler;
    if (first) void this.#readLoop();
    // A handler that takes over a closed transport (a client's connection after its handshake) learns it at once.
    else if (this.#closed) handler.closed(this.#closeError);
  }

  write(chunks: readonly Uint8Array[]): boolean {
    if (this.#closed || this.#ending) return false;
    for (const chunk of chunks) {
      if (chunk.byteLength === 0) continue;
      this.#queue.push(chunk);
      this.#queued += chunk.byteLength;
    }
    if (this.#writing) return false;
    // The pump calls conn.write synchronously: these bytes are with the runtime now.
    if (this.#queue.length > 0) void this.#pump();
    return this.#queued === 0;
  }

  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    // Keep reading until the peer's EOF, so its last bytes are consumed rather than answered
    // with a TCP reset.
    this.resume();
    if (!this.#writing) this.#endWrite();
  }

  destroy(): void {
    this.#close(undefined);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const wake = this.#resumeReading;
    this.#resumeReading = undefined;
    wake?.();
  }

  async #readLoop(): Promise<void> {
    // A read waiting on an idle connection holds its buffer, so the buffer starts small (an idle
    // connection costs little) and adapts: it doubles when a read fills it, up to READ_MAX, and
    // halves after a run of reads that used less than a quarter of it. What was read is copied
    // out (exactly n bytes), because the codec hands out views of the chunks it is given.
    // Connections cannot share one read buffer: every idle connection has a read pending, and
    // reads that complete in the same turn of Deno's event loop would all have written into it
    // before the first of them is handled.
    let buffer = new Uint8Array(READ_MIN);
    let smallReads = 0;
    for (;;) {
      if (this.#paused) await new Promise<void>((resolve) => (this.#resumeReading = resolve));
      if (this.#closed) return;
      let n: number | null;
      try {
        n = await this.#conn.read(buffer);
      } catch (error) {
        this.#close(this.#closed ? undefined : toError(error));
        return;
      }
      if (this.#closed) return;
      if (n === null) {
        this.#readEnded = true;
        this.#handler?.end();
        // Both directions are finished: nothing more can happen on this connection. (Otherwise
        // the handler ends our side, which closes it then.)
        if (this.#writeEnded) this.#close(undefined);
        return;
      }
      const chunk = buffer.slice(0, n);
      if (n === buffer.byteLength && n < READ_MAX) {
        buffer = new Uint8Array(n * 2);
        smallReads = 0;
      } else if (n < buffer.byteLength / 4 && buffer.byteLength > READ_MIN && ++smallReads >= 8) {
        buffer = new Uint8Array(buffer.byteLength / 2);
        smallReads = 0;
      }
      this.#handler?.data(chunk);
    }
  }

  async #pump(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        let count = 0;
        let bytes = 0;
        while (count < this.#queue.length && (count === 0 || bytes + (this.#queue[count] as Uint8Array).byteLength <= WRITE_BATCH)) {
          bytes += (this.#queue[count] as Uint8Array).byteLength;
          count++;
        }
        const chunks = this.#queue.splice(0, count);
        // One chunk goes as it is; several are copied into the connection's write buffer, reused
        // from batch to batch (Deno has no vectored write, and a fresh buffer per batch would be
        // garbage at the rate of the traffic).
        const batch = count === 1 ? (chunks[0] as Uint8Array) : this.#coalesce(chunks, bytes);
        this.#queued -= bytes;
        this.#inFlight = bytes;
        let offset = 0;
        while (offset < batch.byteLength) {
          offset += await this.#conn.write(offset === 0 ? batch : batch.subarray(offset));
          this.#inFlight = batch.byteLength - offset;
        }
        this.#inFlight = 0;
      }
    } catch (error) {
      this.#writing = false;
      this.#close(this.#closed ? undefined : toError(error));
      return;
    }
    this.#writing = false;
    if (this.#closed) return;
    if (this.#ending) this.#endWrite();
    else this.#handler?.drain();
  }

  #coalesce(chunks: readonly Uint8Array[], bytes: number): Uint8Array {
    // Small batches get a buffer of their own (cheap); large ones reuse the connection's, grown
    // to the largest batch seen, so idle or small-message connections never hold a big buffer.
    if (bytes < REUSE_FROM) return concatChunks(chunks, bytes);
    let buffer = this.#writeBuffer;
    if (!buffer || buffer.byteLength < bytes) buffer = this.#writeBuffer = new Uint8Array(Math.max(bytes, REUSE_FROM * 4));
    let offset = 0;
    for (const chunk of chunks) {
      buffer.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return buffer.subarray(0, bytes);
  }

  #endWrite(): void {
    if (this.#writeEnded) return;
    this.#writeEnded = true;
    if (this.#readEnded) {
      this.#close(undefined);
      return;
    }
    this.#conn.closeWrite().catch(() => this.#close(undefined));
  }

  #close(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    this.#queue.length = 0;
    this.#queued = 0;
    this.#inFlight = 0;
    try {
      this.#conn.close();
    } catch {
      // already closed by the runtime
    }
    const wake = this.#resumeReading;
    this.#resumeReading = undefined;
    wake?.();
    this.#handler?.closed(error);
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
