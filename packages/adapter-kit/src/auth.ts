import type { HeadersInit } from './headers.js';

export type { HeadersInit } from './headers.js';

/** Let the connection in; `user` is attached to it (`connection.user`). */
export interface AuthAccept<User> {
  readonly ok: true;
  readonly user: User;
  /** Added to the 101 response (e.g. a refreshed session cookie). */
  readonly headers?: HeadersInit;
}

/** Refuse the upgrade with an HTTP response. */
export interface AuthRejectHttp {
  readonly ok: false;
  /** 401, 403, 429, … (400–599; anything else answers 403). */
  readonly status: number;
  readonly headers?: HeadersInit;
  readonly body?: string;
  readonly closeCode?: undefined;
}

/**
 * Refuse after the handshake: the 101 goes out, then at once a close frame with `closeCode`
 * (4000–4999) and `reason`, and no `connection` event. A browser sees only 1006 for an HTTP
 * refusal, so this is how its client learns that the credentials, not the network, failed
 * (@switchyard/client's `onAuthFailure` fires on 4001 and 4003 and does not reconnect).
 */
export interface AuthRejectClose {
  readonly ok: false;
  readonly closeCode: number;
  /** Up to 123 bytes of UTF-8 (longer is cut at a character boundary). */
  readonly reason?: string;
  readonly status?: undefined;
}

/** Refuse the upgrade: with an HTTP status, or with a close code after the handshake. */
export type AuthReject = AuthRejectHttp | AuthRejectClose;

/** What a server's `authenticate` hook returns: admission, with the user it admits, or refusal. */
export type AuthResult<User> = AuthAccept<User> | AuthReject;
