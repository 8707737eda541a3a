export * from './types.js';
export { CloseCode, MAX_CLOSE_REASON_BYTES, decodeClosePayload, encodeClosePayload, isValidCloseCode } from './close.js';
export type { DecodedClosePayload } from './close.js';
export { ConnectionClosedError, InvalidArgumentError, InvalidCloseError, SwitchyardError, protocolViolation } from './errors.js';
export { Connection } from './connection.js';
export type { ConnectionOptions, PerMessageDeflateOptions } from './connection.js';
export { prepareMessage } from './prepare.js';
export {
  DecodeStatus,
  FrameDecoder,
  MAX_CONTROL_PAYLOAD,
  Opcode,
  encodeFrame,
  encodeFrameHeader,
  frameHeaderLength,
  writeFrameHeader,
} from './frame.js';
export type { FrameDecoderOptions, FrameHeaderFields } from './frame.js';
export { applyMask, applyMaskJs, applyMaskSimd, copyMasked, simdMaskAvailable } from './mask.js';
export { Utf8Validator, isValidUtf8 } from './utf8.js';
export { MessageAssembler, fragmentPayload } from './message.js';
export type { MessageLimits } from './message.js';
export * from './handshake/index.js';
export * from './extensions/permessage-deflate.js';
