/**
 * The event classes of the WHATWG WebSocket interface. Node 20 has `Event` and `MessageEvent`
 * globally but not `CloseEvent`/`ErrorEvent`; the runtime's own classes are used when present.
 */

export interface CloseEventInit extends EventInit {
  readonly wasClean?: boolean;
  readonly code?: number;
  readonly reason?: string;
}

export interface ErrorEventInit extends EventInit {
  readonly message?: string;
  readonly error?: unknown;
}

class CloseEventPolyfill extends Event {
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

class ErrorEventPolyfill extends Event {
  readonly message: string;
  readonly error: unknown;

  constructor(type: string, init: ErrorEventInit = {}) {
    super(type, init);
    this.message = init.message ?? '';
    this.error = init.error;
  }
}

type CloseEventClass = new (type: string, init?: CloseEventInit) => Event & { readonly wasClean: boolean; readonly code: number; readonly reason: string };
type ErrorEventClass = new (type: string, init?: ErrorEventInit) => Event & { readonly message: string; readonly error: unknown };

const globals = globalThis as { CloseEvent?: CloseEventClass; ErrorEvent?: ErrorEventClass };

/** `CloseEvent` of the runtime, or an equivalent class where the runtime has none (Node 20). */
export const CloseEvent: CloseEventClass = globals.CloseEvent ?? CloseEventPolyfill;
export type CloseEvent = InstanceType<CloseEventClass>;

/** `ErrorEvent` of the runtime, or an equivalent class. The `error` of a failed connection is in `.error`. */
export const ErrorEvent: ErrorEventClass = globals.ErrorEvent ?? ErrorEventPolyfill;
export type ErrorEvent = InstanceType<ErrorEventClass>;
