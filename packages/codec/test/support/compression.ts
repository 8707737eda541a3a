/**
 * A real permessage-deflate compressor for tests, built on the WHATWG CompressionStream and
 * DecompressionStream that Node, Deno, Bun and browsers all provide. It compresses each message
 * as a complete raw DEFLATE stream ending in a BFINAL block (RFC 7692 §7.2.3.3), i.e. no context
 * takeover; every call is asynchronous, which exercises the connection's ordering.
 */
import type { Compressor, DeflateParams } from '@switchyard/codec';

export const noContextTakeover: DeflateParams = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

async function pipeThrough(stream: CompressionStream | DecompressionStream, input: readonly Uint8Array[], maxSize: number): Promise<Uint8Array | null> {
  const writer = stream.writable.getWriter();
  const writing = (async () => {
    for (const chunk of input) await writer.write(chunk as Uint8Array<ArrayBuffer>);
    await writer.close();
  })();
  // Errors surface through the reader; this keeps the writer's copy of them from going unhandled.
  writing.catch(() => {});
  const reader = stream.readable.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxSize) {
      await reader.cancel().catch(() => {});
      return null;
    }
    parts.push(value);
  }
  await writing;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const TAIL = [0x00, 0x00, 0xff, 0xff];
const isTail = (chunk: Uint8Array | undefined): boolean => chunk !== undefined && chunk.length === 4 && TAIL.every((b, i) => chunk[i] === b);

export function streamCompressor(): Compressor & { readonly calls: { compress: number; decompress: number } } {
  const calls = { compress: 0, decompress: 0 };
  return {
    calls,
    async compress(data) {
      calls.compress++;
      return (await pipeThrough(new CompressionStream('deflate-raw'), [data], Number.POSITIVE_INFINITY))!;
    },
    decompress(chunks, maxSize) {
      calls.decompress++;
      // The messages end in a BFINAL block: the 00 00 ff ff the connection appends lies past the
      // end of the stream, where these decompressors refuse trailing bytes.
      const input = isTail(chunks.at(-1)) ? chunks.slice(0, -1) : chunks;
      return pipeThrough(new DecompressionStream('deflate-raw'), input, maxSize);
    },
    dispose() {},
  };
}

/** Compresses a payload the way a peer using this compressor would. */
export async function deflateMessage(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return streamCompressor().compress(bytes) as Promise<Uint8Array>;
}
