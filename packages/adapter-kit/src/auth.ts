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
export interface AuthReject {
  readonly ok: false;
  /** 401, 403, 429, … */
  readonly status: number;
  readonly headers?: HeadersInit;
  readonly body?: string;
}

/** What a server's `authenticate` hook returns: admission, with the user it admits, or refusal. */
export type AuthResult<User> = AuthAccept<User> | AuthReject;
