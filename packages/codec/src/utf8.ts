/**
 * Incremental UTF-8 validation (RFC 3629, as RFC 6455 §8.1 requires for text).
 *
 * The validator checks each lead byte and narrows the range of the byte after it (the Unicode
 * table 3-7 of well-formed sequences), so it rejects a stream at the first byte that no valid
 * continuation could follow — overlongs, surrogates and code points above U+10FFFF included —
 * instead of waiting for the end of the message. A sequence may be split at any byte across
 * calls to `push`.
 */
export class Utf8Validator {
  /** Continuation bytes still expected by the current sequence. */
  private need = 0;
  /** Inclusive bounds for the next continuation byte (narrower right after E0, ED, F0, F4). */
  private low = 0x80;
  private high = 0xbf;
  private failed = false;

  /** Feeds `bytes[start..end)`; false as soon as the bytes seen so far cannot start valid UTF-8. */
  push(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    if (this.failed) return false;
    let need = this.need;
    let low = this.low;
    let high = this.high;
    let i = start;
    while (i < end) {
      let byte = bytes[i]!;
      if (need === 0) {
        // ASCII runs are the common case: skip them without touching the state.
        while (byte < 0x80) {
          if (++i === end) break;
          byte = bytes[i]!;
        }
        if (byte < 0x80) break;
        if (byte < 0xc2) return this.fail();
        if (byte < 0xe0) {
          need = 1;
        } else if (byte < 0xf0) {
          need = 2;
          if (byte === 0xe0) low = 0xa0; // no overlong three-byte forms
          else if (byte === 0xed) high = 0x9f; // no UTF-16 surrogates
        } else if (byte < 0xf5) {
          need = 3;
          if (byte === 0xf0) low = 0x90; // no overlong four-byte forms
          else if (byte === 0xf4) high = 0x8f; // nothing above U+10FFFF
        } else {
          return this.fail();
        }
      } else {
        if (byte < low || byte > high) return this.fail();
        need--;
        low = 0x80;
        high = 0xbf;
      }
      i++;
    }
    this.need = need;
    this.low = low;
    this.high = high;
    return true;
  }

  /** Ends the stream: true when everything pushed was valid and no sequence was left open. Resets. */
  finish(): boolean {
    const ok = !this.failed && this.need === 0;
    this.reset();
    return ok;
  }

  reset(): void {
    this.need = 0;
    this.low = 0x80;
    this.high = 0xbf;
    this.failed = false;
  }

  private fail(): false {
    this.failed = true;
    return false;
  }
}

const scratch = new Utf8Validator();

/** Whether `bytes` is complete, valid UTF-8. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  const length = bytes.length;
  let i = 0;
  while (i < length && bytes[i]! < 0x80) i++;
  if (i === length) return true;
  scratch.reset();
  const ok = scratch.push(bytes, i);
  return scratch.finish() && ok;
}
