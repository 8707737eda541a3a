import * as zlib from 'node:zlib';
import type { Compressor, DeflateParams, Role } from '@switchyard/codec';
import { ConcurrencyLimiter } from './limiter.js';

/** zlib tuning for permessage-deflate (the negotiated parameters come from the codec). */
export interface ZlibTuning {
  /** Compression level 0–9 (default 1: most of the gain for a fraction of the CPU). */
  readonly level?: number;
  /** zlib memLevel 1–9 (default 8): memory of the compressor's hash tables, 2^(memLevel+9) bytes. */
  readonly memLevel?: number;
}

const EMPTY_DEFLATE_BLOCK = Uint8Array.of(0x00);

/** zlib refuses 8-bit windows for raw deflate and silently widens them to 9 (node docs). */
const zlibWindowBits = (bits: number): number => Math.max(9, Math.min(15, bits));

/**
 * Compressor backed by node:zlib streams. The two directions are independent and each is
 * serialised (one message at a time, in order). When a direction has no context takeover its
 * zlib stream is freed after every message, so an idle connection holds no zlib memory.
 * Inflation stops as soon as the output passes `maxSize` (decompression bombs never allocate
 * their full size).
 */
export class NodeCompressor implements Compressor {
  private deflater: zlib.DeflateRaw | undefined;
  private inflater: zlib.InflateRaw | undefined;
  private deflateChain: Promise<unknown> = Promise.resolve();
  private inflateChain: Promise<unknown> = Promise.resolve();
  private disposed = false;
  private readonly ownBits: number;
  private readonly peerBits: number;
  private readonly resetOwn: boolean;
  private readonly resetPeer: boolean;
  private readonly level: number;
  private readonly memLevel: number;

  constructor(
    params: DeflateParams,
    role: Role,
    private readonly limiter: ConcurrencyLimiter,
    tuning: ZlibTuning = {},
  ) {
    const server = role === 'server';
    const own = server ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    this.peerBits = zlibWindowBits(server ? params.clientMaxWindowBits : params.serverMaxWindowBits);
    this.resetOwn = server ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    this.resetPeer = server ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    this.ownBits = zlibWindowBits(own);
    // A negotiated 8-bit window cannot be honoured by zlib (it would emit 9-bit distances the
    // peer may not accept), so such messages are sent as stored blocks: valid, just uncompressed.
    this.level = own < 9 ? 0 : (tuning.level ?? 1);
    this.memLevel = tuning.memLevel ?? 8;
  }

  compress(data: Uint8Array): Promise<Uint8Array> {
    const job = this.deflateChain.then(() => this.limiter.run(() => this.deflateOne(data)));
    this.deflateChain = job.catch(() => undefined);
    return job;
  }

  decompress(data: readonly Uint8Array[], maxSize: number): Promise<Uint8Array | null> {
    const job = this.inflateChain.then(() => this.limiter.run(() => this.inflateOne(data, maxSize)));
    this.inflateChain = job.catch(() => undefined);
    return job;
  }

  dispose(): void {
    this.disposed = true;
    this.deflater?.close();
    this.inflater?.close();
    this.deflater = undefined;
    this.inflater = undefined;
  }

  private deflateOne(data: Uint8Array): Promise<Uint8Array> {
    if (this.disposed) return Promise.reject(new Error('compressor disposed'));
    const deflater = (this.deflater ??= zlib.createDeflateRaw({
      level: this.level,
      memLevel: this.memLevel,
      windowBits: this.ownBits,
    }));
    return new Promise<Uint8Array>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let length = 0;
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        length += chunk.length;
      };
      const onError = (error: Error): void => {
        deflater.off('data', onData);
        this.dropDeflater(deflater);
        reject(error);
      };
      deflater.on('data', onData);
      deflater.once('error', onError);
      deflater.write(data);
      deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        deflater.off('data', onData);
        deflater.off('error', onError);
        if (this.resetOwn) this.dropDeflater(deflater);
        let out: Uint8Array = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
        if (endsWithTail(out)) out = out.subarray(0, out.length - 4);
        resolve(out.length === 0 ? EMPTY_DEFLATE_BLOCK : out);
      });
    });
  }

  private inflateOne(data: readonly Uint8Array[], maxSize: number): Promise<Uint8Array | null> {
    if (this.disposed) return Promise.reject(new Error('compressor disposed'));
    const inflater = (this.inflater ??= zlib.createInflateRaw({ windowBits: this.peerBits }));
    return new Promise<Uint8Array | null>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let length = 0;
      let settled = false;
      const finish = (): void => {
        settled = true;
        inflater.off('data', onData);
        inflater.off('error', onError);
      };
      const onData = (chunk: Buffer): void => {
        length += chunk.length;
        if (length > maxSize) {
          // Stop here: the rest of the bomb is never produced. The stream's state is now
          // unusable, so it is dropped (the connection closes with 1009 anyway).
          finish();
          this.dropInflater(inflater);
          resolve(null);
          return;
        }
        chunks.push(chunk);
      };
      const onError = (error: Error): void => {
        finish();
        this.dropInflater(inflater);
        reject(error);
      };
      inflater.on('data', onData);
      inflater.once('error', onError);
      // The codec has already appended the 00 00 ff ff tail that the sender removed.
      for (const chunk of data) inflater.write(chunk);
      inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (settled) return;
        finish();
        if (this.resetPeer) this.dropInflater(inflater);
        resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length));
      });
    });
  }

  private dropDeflater(deflater: zlib.DeflateRaw): void {
    if (this.deflater === deflater) this.deflater = undefined;
    deflater.close();
  }

  private dropInflater(inflater: zlib.InflateRaw): void {
    if (this.inflater === inflater) this.inflater = undefined;
    inflater.on('error', () => undefined);
    inflater.close();
  }
}

function endsWithTail(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 4 && bytes[n - 4] === 0x00 && bytes[n - 3] === 0x00 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xff;
}
