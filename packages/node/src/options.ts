import {
  resolveConnectionOptions as resolveShared,
  type ConnectionOptions as SharedConnectionOptions,
  type ResolvedConnectionOptions as SharedResolvedOptions,
} from '@switchyard/adapter-kit';

export { DEFAULT_MAX_PAYLOAD, DEFAULT_HIGH_WATER_MARK, defaultMaxFragments } from '@switchyard/adapter-kit';
export type { ClientDeflateOptions, HighWaterPolicy, ServerDeflateOptions } from '@switchyard/adapter-kit';

/** How binary messages are handed to the application. */
export type BinaryType = 'uint8array' | 'buffer';

/** Options shared by the server's connections and the client. */
export interface ConnectionOptions extends SharedConnectionOptions {
  /** Binary messages as `Uint8Array` (default) or `Buffer` (a zero-copy view; what ws users expect). */
  readonly binaryType?: BinaryType;
}

export interface ResolvedConnectionOptions extends SharedResolvedOptions {
  readonly binaryType: BinaryType;
}

export function resolveConnectionOptions(options: ConnectionOptions, side: 'server' | 'client'): ResolvedConnectionOptions {
  return { ...resolveShared(options, side), binaryType: options.binaryType ?? 'uint8array' };
}
