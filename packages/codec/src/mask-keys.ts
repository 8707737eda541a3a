/** Random bytes fetched per call to the source: 1024 mask keys. */
const POOL_BYTES = 4096;
/** The mask key of the frame being written; used synchronously right after it is filled. */
const keyScratch = new Uint8Array(4);

/**
 * A client's mask keys (RFC 6455 §5.3: fresh and unpredictable for every frame), drawn from the
 * random source 1024 at a time: one call into the source per 1024 frames.
 */
export class MaskKeyPool {
  readonly #randomBytes: (target: Uint8Array) => void;
  #pool: Uint8Array | undefined;
  #used = POOL_BYTES;

  constructor(randomBytes: (target: Uint8Array) => void) {
    this.#randomBytes = randomBytes;
  }

  /** Writes a fresh key at `frame[at..at + 4)` and returns it (valid until the next call). */
  write(frame: Uint8Array, at: number): Uint8Array {
    let pool = this.#pool;
    if (pool === undefined || this.#used + 4 > POOL_BYTES) {
      pool = this.#pool ??= new Uint8Array(POOL_BYTES);
      this.#randomBytes(pool);
      this.#used = 0;
    }
    const p = this.#used;
    const key = keyScratch;
    frame[at] = key[0] = pool[p]!;
    frame[at + 1] = key[1] = pool[p + 1]!;
    frame[at + 2] = key[2] = pool[p + 2]!;
    frame[at + 3] = key[3] = pool[p + 3]!;
    this.#used = p + 4;
    return key;
  }
}
