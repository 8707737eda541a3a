import { Opcode, frameHeaderLength, writeFrameHeader } from './frame.js';
import type { PreparedMessage } from './types.js';

const textEncoder = new TextEncoder();
/** Up to this payload size the frame is one chunk; above it header and payload stay apart for writev. */
const COALESCE_LIMIT = 1024;

/**
 * Encodes a message once as an unmasked, unfragmented server frame, to be queued on many
 * connections with `Connection.sendPrepared` (broadcast) without encoding it again.
 * Strings are sent as text unless `binary` is true; bytes as binary unless `binary` is false.
 */
export function prepareMessage(data: string | Uint8Array, options?: { readonly binary?: boolean }): PreparedMessage {
  const binary = options?.binary ?? typeof data !== 'string';
  const payload = typeof data === 'string' ? textEncoder.encode(data) : data;
  const opcode = binary ? Opcode.Binary : Opcode.Text;
  const headerLength = frameHeaderLength(payload.length, false);
  let chunks: Uint8Array[];
  if (payload.length <= COALESCE_LIMIT) {
    const frame = new Uint8Array(headerLength + payload.length);
    writeFrameHeader(frame, 0, { opcode, fin: true, payloadLength: payload.length });
    frame.set(payload, headerLength);
    chunks = [frame];
  } else {
    const header = new Uint8Array(headerLength);
    writeFrameHeader(header, 0, { opcode, fin: true, payloadLength: payload.length });
    chunks = [header, payload];
  }
  return Object.freeze({ binary, chunks: Object.freeze(chunks), byteLength: headerLength + payload.length, payload });
}
