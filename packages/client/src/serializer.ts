import type { ClientFrame } from '@switchyard/wire';

/**
 * Turns envelope frames into WebSocket messages and back. A `binary` serializer's output is
 * sent as binary frames; `decode` receives text frames as strings and binary frames as
 * bytes, and may throw on garbage (the client reports it as an invalid message).
 */
export interface Serializer {
  readonly binary: boolean;
  encode(frame: ClientFrame): string | Uint8Array;
  decode(data: string | Uint8Array): unknown;
}

export const jsonSerializer: Serializer = {
  binary: false,
  encode: (frame) => JSON.stringify(frame),
  decode: (data) => JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)) as unknown,
};
