/**
 * The byte stream under one WebSocket, as the shared connection core sees it. Each runtime fills
 * it from its own socket API (a Node `net.Socket`, a `Deno.Conn`, Bun's `Socket`), keeping its
 * own fast paths (batched writes, writev, cork) inside; everything above it — the connection,
 * its heartbeat, limits and backpressure — exists once, in this package.
 */
export interface Transport {
  /** Where the peer is (for logs, rate limits and `authenticate`). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * Bytes accepted by `write` that this process still holds: not yet taken by the kernel (Node:
   * the socket's `writableLength`; Bun: not accepted by the kernel; Deno: not yet handed to
   * `conn.write`, or handed and the write not finished).
   */
  readonly pendingBytes: number;
  /** True once the transport is closed (by either side); writes are then ignored. */
  readonly closed: boolean;
  /**
   * Starts delivering events to `handler` (data that arrived before is delivered then). A later
   * call hands the transport over to a new handler (a client's connection after its handshake);
   * if the transport closed in between, the new handler's `closed` is called at once.
   */
  attach(handler: TransportHandler): void;
  /**
   * Writes the chunks in order, in as few system calls as the runtime allows. Returns true when
   * they were handed to the runtime's socket at once (nothing queued before them, nothing left
   * over), false when some wait in this process.
   */
  write(chunks: readonly Uint8Array[]): boolean;
  /** Sends what is pending, then ends the stream (TCP FIN) and closes once the peer ends too. */
  end(): void;
  /** Closes at once, dropping pending bytes. */
  destroy(): void;
  /** Stops reading from the socket (read-side backpressure) until `resume`. */
  pause(): void;
  resume(): void;
}

export interface TransportHandler {
  /** Bytes from the peer. The chunk is owned by the receiver from now on. */
  data(chunk: Uint8Array): void;
  /** Everything pending was handed to the runtime's socket (`pendingBytes` is 0 again). */
  drain(): void;
  /** The peer ended its side (EOF). `closed` follows. */
  end(): void;
  /** The transport is closed: nothing more will be read or written. Called once. */
  closed(error?: Error): void;
}


/** Sum of the byte lengths. */
export function totalLength(chunks: readonly Uint8Array[]): number {
  let total = 0;
  for (const chunk of chunks) total += chunk.byteLength;
  return total;
}
