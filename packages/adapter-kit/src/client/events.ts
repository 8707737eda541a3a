/**
 * The event classes of the WHATWG WebSocket interface. Node 20 has `Event` and `MessageEvent`
 * globally but not `CloseEvent`/`ErrorEvent`; the runtime's own classes are used when present,
 * so `instanceof CloseEvent` holds for browser code run on Deno or Bun.
 *
 * The init types are declared here (not taken from the DOM library's `EventInit`), so the
 * declarations type-check in projects without `lib: ["dom"]`.
 */

/** The options every `Event` takes. */
export interface BaseEventInit {
  readonly bubbles?: boolean;
  readonly cancelable?: boolean;
  readonly composed?: boolean;
}

export interface CloseEventInit extends BaseEventInit {
  readonly wasClean?: boolean;
  readonly code?: number;
  readonly reason?: string;
}

export interface ErrorEventInit extends BaseEventInit {
  readonly message?: string;
  readonly error?: unknown;
}

/** The close event: how the connection ended. */
export interface CloseEvent extends Event {
  readonly wasClean: boolean;
  readonly code: number;
  readonly reason: string;
}

/** The error event of a failed connection; the cause, when known, is in `error`. */
export interface ErrorEvent extends Event {
  readonly message: string;
  readonly error: unknown;
}

class CloseEventPolyfill extends Event implements CloseEvent {
  readonly wasClean: boolean;
  readonly code: number;
  readonly reason: string;

  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.wasClean = init.wasClean ?? false;
    this.code = init.code ?? 0;
    this.reason = init.reason ?? '';
  }
}

class ErrorEventPolyfill extends Event implements ErrorEvent {
  readonly message: string;
  readonly error: unknown;

  constructor(type: string, init: ErrorEventInit = {}) {
    super(type, init);
    this.message = init.message ?? '';
    this.error = init.error;
  }
}

type CloseEventClass = new (type: string, init?: CloseEventInit) => CloseEvent;
type ErrorEventClass = new (type: string, init?: ErrorEventInit) => ErrorEvent;

const globals = globalThis as { CloseEvent?: CloseEventClass; ErrorEvent?: ErrorEventClass };

/** `CloseEvent` of the runtime, or an equivalent class where the runtime has none (Node 20). */
export const CloseEvent: CloseEventClass = globals.CloseEvent ?? CloseEventPolyfill;

/** `ErrorEvent` of the runtime, or an equivalent class. The `error` of a failed connection is in `.error`. */
export const ErrorEvent: ErrorEventClass = globals.ErrorEvent ?? ErrorEventPolyfill;
