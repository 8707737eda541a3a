import * as zlib from 'node:zlib';
import type { Compressor, DeflateClientOptions, DeflateParams, DeflateServerOptions, Role } from '@switchyard/codec';
import { concatChunks } from './data.js';
import type { ConcurrencyLimiter } from './limiter.js';

/** zlib tuning for permessage-deflate (the negotiated parameters come from the codec). */
export interface ZlibTuning {
  /** Compression level 0–9 (default 1: most of the gain for a fraction of the CPU). */
  readonly level?: number;
  /** zlib memLevel 1–9 (default 8): the compressor's hash tables take 2^(memLevel+9) bytes. */
  readonly memLevel?: number;
}

const EMPTY_DEFLATE_BLOCK = Uint8Array.of(0x00);

/** zlib refuses 8-bit windows for raw deflate and silently widens them to 9 (node docs). */
const zlibWindowBits = (bits: number): number => Math.max(9, Math.min(15, bits));

/**
 * permessage-deflate over `node:zlib`, which Node, Deno and Bun all implement (Bun on native
 * zlib, Deno on its Rust zlib binding), so one compressor serves every adapter. Chosen over
 * `CompressionStream('deflate-raw')` because the web stream has no window-bits, no sync-flush and
 * no context-takeover controls: it could only honour offers with no context takeover in both
 * directions and 15-bit windows, and it measured slower per message (docs/deno-bun.md,
 * "Compression").
 *
 * The two directions are independent and each is serialised (one message at a time, in order).
 * A direction without context takeover frees its zlib stream after every message, so an idle
 * connection holds no zlib memory. Inflation stops as soon as the output passes `maxSize`: a
 * decompression bomb never allocates its full size.
 */
export class ZlibCompressor implements Compressor {
  #deflater: zlib.DeflateRaw | undefined;
  #inflater: zlib.InflateRaw | undefined;
  #deflateChain: Promise<unknown> = Promise.resolve();
  #inflateChain: Promise<unknown> = Promise.resolve();
  #disposed = false;
  readonly #ownBits: number;
  readonly #peerBits: number;
  readonly #resetOwn: boolean;
  readonly #resetPeer: boolean;
  readonly #level: number;
  readonly #memLevel: number;
  readonly #limiter: ConcurrencyLimiter;

  constructor(params: DeflateParams, role: Role, limiter: ConcurrencyLimiter, tuning: ZlibTuning = {}) {
    const server = role === 'server';
    const own = server ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    this.#ownBits = zlibWindowBits(own);
    this.#peerBits = zlibWindowBits(server ? params.clientMaxWindowBits : params.serverMaxWindowBits);
    this.#resetOwn = server ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    this.#resetPeer = server ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    // A negotiated 8-bit window cannot be honoured by zlib (it would emit 9-bit distances the
    // peer may not accept), so such messages go out as stored blocks (level 0): valid DEFLATE
    // within any window, just not smaller.
    this.#level = own < 9 ? 0 : (tuning.level ?? 1);
    this.#memLevel = tuning.memLevel ?? 8;
    this.#limiter = limiter;
  }

  compress(data: Uint8Array): Promise<Uint8Array> {
    const job = this.#deflateChain.then(() => this.#limiter.run(() => this.#deflateOne(data)));
    this.#deflateChain = job.catch(() => undefined);
    return job;
  }

  decompress(data: readonly Uint8Array[], maxSize: number): Promise<Uint8Array | null> {
    const job = this.#inflateChain.then(() => this.#limiter.run(() => this.#inflateOne(data, maxSize)));
    this.#inflateChain = job.catch(() => undefined);
    return job;
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#deflater) this.#drop(this.#deflater);
    if (this.#inflater) this.#drop(this.#inflater);
    this.#deflater = undefined;
    this.#inflater = undefined;
  }

  #deflateOne(data: Uint8Array): Promise<Uint8Array> {
    if (this.#disposed) return Promise.reject(new Error('compressor disposed'));
    const deflater = (this.#deflater ??= quiet(
      zlib.createDeflateRaw({ level: this.#level, memLevel: this.#memLevel, windowBits: this.#ownBits }),
    ));
    return new Promise<Uint8Array>((resolve, reject) => {
      const chunks: Uint8Array[] = [];
      let length = 0;
      const onData = (chunk: Uint8Array): void => {
        chunks.push(chunk);
        length += chunk.byteLength;
      };
      const onError = (error: Error): void => {
        deflater.off('data', onData);
        if (this.#deflater === deflater) this.#deflater = undefined;
        this.#drop(deflater);
        reject(error);
      };
      deflater.on('data', onData);
      deflater.once('error', onError);
      deflater.write(data);
      deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (deflater.errored || deflater.destroyed) {
          onError(deflater.errored ?? new Error('deflate failed'));
          return;
        }
        deflater.off('data', onData);
        deflater.off('error', onError);
        if (this.#resetOwn) {
          if (this.#deflater === deflater) this.#deflater = undefined;
          this.#drop(deflater);
        }
        let out = concatChunks(chunks, length);
        if (endsWithTail(out)) out = out.subarray(0, out.byteLength - 4);
        resolve(out.byteLength === 0 ? EMPTY_DEFLATE_BLOCK : out);
      });
    });
  }

  #inflateOne(data: readonly Uint8Array[], maxSize: number): Promise<Uint8Array | null> {
    if (this.#disposed) return Promise.reject(new Error('compressor disposed'));
    const inflater = (this.#inflater ??= quiet(zlib.createInflateRaw({ windowBits: this.#peerBits })));
    return new Promise<Uint8Array | null>((resolve, reject) => {
      const chunks: Uint8Array[] = [];
      let length = 0;
      let settled = false;
      const finish = (): void => {
        settled = true;
        inflater.off('data', onData);
        inflater.off('error', onError);
      };
      const abandon = (): void => {
        if (this.#inflater === inflater) this.#inflater = undefined;
        this.#drop(inflater);
      };
      const onData = (chunk: Uint8Array): void => {
        if (settled) return;
        length += chunk.byteLength;
        if (length > maxSize) {
          // Stop here: the rest of the bomb is never produced. The stream's state is unusable
          // now, so it is dropped (the connection closes with 1009 anyway).
          finish();
          abandon();
          resolve(null);
          return;
        }
        chunks.push(chunk);
      };
      const onError = (error: Error): void => {
        if (settled) return;
        finish();
        abandon();
        reject(error);
      };
      inflater.on('data', onData);
      inflater.on('error', onError);
      try {
        // The codec has appended the 00 00 ff ff tail already (RFC 7692 §7.2.2).
        for (const chunk of data) {
          if (settled) return;
          inflater.write(chunk);
        }
      } catch (error) {
        // Deno's zlib may throw from write() on corrupt data instead of emitting 'error'.
        onError(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (settled) return;
      inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (settled) return;
        // Deno's zlib calls back before it emits 'error' on corrupt data; the stream is already
        // marked as errored then.
        if (inflater.errored || inflater.destroyed) {
          onError(inflater.errored ?? new Error('inflate failed'));
          return;
        }
        finish();
        if (this.#resetPeer) abandon();
        resolve(concatChunks(chunks, length));
      });
    });
  }

  #drop(stream: zlib.DeflateRaw | zlib.InflateRaw): void {
    try {
      stream.close();
    } catch {
      // already closed
    }
  }
}

/** Options of permessage-deflate shared by the server and the client. */
export interface CompressionOptions extends ZlibTuning {
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  readonly threshold?: number;
  /** zlib jobs running at once across all connections of one server or client. Default 10. */
  readonly concurrencyLimit?: number;
}

/** permessage-deflate on the server: RFC 7692 parameters plus zlib tuning. */
export interface ServerDeflateOptions extends DeflateServerOptions, CompressionOptions {}

/** permessage-deflate on the client: RFC 7692 parameters plus zlib tuning. */
export interface ClientDeflateOptions extends DeflateClientOptions, CompressionOptions {}

/** A stream whose late errors (after its job settled) are ignored instead of crashing the process. */
function quiet<T extends zlib.DeflateRaw | zlib.InflateRaw>(stream: T): T {
  stream.on('error', () => undefined);
  return stream;
}

function endsWithTail(bytes: Uint8Array): boolean {
  const n = bytes.byteLength;
  return n >= 4 && bytes[n - 4] === 0x00 && bytes[n - 3] === 0x00 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xff;
}
