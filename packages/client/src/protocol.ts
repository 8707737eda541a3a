import type { Validator } from './validate.js';

/**
 * The messages both sides exchange, described once:
 * `client` — events the client sends, `server` — events the server sends,
 * `requests` — request payloads and their replies.
 */
export interface ProtocolShape {
  client?: Record<string, unknown>;
  server?: Record<string, unknown>;
  requests?: Record<string, { req: unknown; res: unknown }>;
}

/** A section of the protocol; a missing section has no names at all (not every string). */
type Section<P, K extends keyof ProtocolShape> = P extends { [key in K]-?: infer S } ? (S extends object ? S : Record<never, never>) : Record<never, never>;

export type ClientMessages<P extends ProtocolShape> = Section<P, 'client'>;
export type ServerMessages<P extends ProtocolShape> = Section<P, 'server'>;
export type Requests<P extends ProtocolShape> = Section<P, 'requests'> extends Record<string, { req: unknown; res: unknown }>
  ? Section<P, 'requests'>
  : Record<never, never>;

export type RequestPayload<P extends ProtocolShape, K extends keyof Requests<P>> = Requests<P>[K] extends { req: infer R } ? R : never;
export type ReplyData<P extends ProtocolShape, K extends keyof Requests<P>> = Requests<P>[K] extends { res: infer R } ? R : never;

export type ClientMessageType<P extends ProtocolShape> = keyof ClientMessages<P> & string;
export type ServerMessageType<P extends ProtocolShape> = keyof ServerMessages<P> & string;
export type RequestType<P extends ProtocolShape> = keyof Requests<P> & string;

/** Runtime validators for what arrives: server events by type, request replies by request type. */
export interface ProtocolValidators<P extends ProtocolShape> {
  readonly server?: { readonly [K in ServerMessageType<P>]?: Validator<ServerMessages<P>[K]> };
  readonly replies?: { readonly [K in RequestType<P>]?: Validator<ReplyData<P, K>> };
}

export interface Protocol<P extends ProtocolShape> {
  readonly validators: ProtocolValidators<P>;
  /** Carries the protocol's types; never set at runtime. */
  readonly '~types'?: P;
}

/**
 * Declares a protocol: `defineProtocol<{ client: …; server: …; requests: … }>(validators?)`.
 * The type argument drives compile-time checks of `send`, `on` and `request`; the
 * optional validators check incoming data at runtime.
 */
export function defineProtocol<P extends ProtocolShape>(validators: ProtocolValidators<P> = {}): Protocol<P> {
  return { validators };
}
