/**
 * Small frames are written one after another into a slab shared by every connection, and each
 * connection hands out its consecutive frames as one view: no allocation per frame, one chunk
 * for many frames (fewer writes), and no idle buffer per connection. Regions never overlap, so
 * views already handed out are never written again; a full slab is replaced, not reused.
 */
const SLAB_BYTES = 64 * 1024;
const shared = { bytes: new Uint8Array(0), end: 0 };
const EMPTY = new Uint8Array(0);

/** One connection's frames in the shared slab not yet handed to its output: `bytes[start..end)`. */
export class SlabRegion {
  bytes: Uint8Array = EMPTY;
  start = 0;
  end = 0;

  /**
   * Makes room for `size` bytes at `this.end`. The region goes on only if nobody wrote after it
   * and the bytes fit; otherwise its frames move to `output` and a new region starts, on a new
   * slab when the shared one is full.
   */
  reserve(size: number, output: Uint8Array[]): void {
    if (this.bytes === shared.bytes && this.end === shared.end && shared.end + size <= shared.bytes.length) return;
    this.seal(output);
    if (shared.end + size > shared.bytes.length) {
      shared.bytes = new Uint8Array(Math.max(SLAB_BYTES, size));
      shared.end = 0;
    }
    this.bytes = shared.bytes;
    this.start = shared.end;
    this.end = shared.end;
  }

  /** Extends the region over the `size` bytes just written at `at` (right after a `reserve`). */
  commit(at: number, size: number): void {
    this.end = at + size;
    shared.end = at + size;
  }

  /**
   * Moves the region's frames into `output`, before anything else is appended to it, and lets
   * go of the slab: an idle connection must not keep a full, replaced slab alive. The next small
   * frame continues on the shared slab, wherever it then stands.
   */
  seal(output: Uint8Array[]): void {
    if (this.end === this.start) return;
    output.push(this.bytes.subarray(this.start, this.end));
    this.bytes = EMPTY;
    this.start = 0;
    this.end = 0;
  }
}
