import type { ReplyError } from '@switchyard/wire';
import type { SchemaIssue } from './validate.js';

/** Why a request did not resolve. */
export type RequestErrorCode =
  /** No reply within the request's timeout. */
  | 'timeout'
  /** The connection dropped after the request went out; it was not marked idempotent, so it is not re-sent. */
  | 'disconnected'
  /** The client was closed (by the app, a fatal close code or the attempt limit) before a reply came. */
  | 'closed'
  /** The request waited in the offline queue and was dropped (queue full or time-to-live passed). */
  | 'dropped'
  /** The server replied with an error; see `remote`. */
  | 'remote'
  /** The server's reply did not pass the protocol's reply validator; see `issues`. */
  | 'invalid-reply';

export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: RequestErrorCode,
    message: string,
    /** The server's error, when `code` is 'remote'. */
    readonly remote?: ReplyError,
    /** The validator's findings, when `code` is 'invalid-reply'. */
    readonly issues?: readonly SchemaIssue[],
  ) {
    super(message);
  }
}
