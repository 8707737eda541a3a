import {
  prepareMessage,
  validateUpgradeRequest,
  type PreparedMessage,
  type UpgradeDecision,
  type UpgradeRequest,
  type UpgradeServerOptions,
} from '@switchyard/codec';
import type { AuthResult } from '../auth.js';
import { WebSocketConnection, HOLD_WRITES, RELEASE_WRITES, createHeartbeat, type ConnectionHeartbeat } from '../connection.js';
import { toBytes, type SendData } from '../data.js';
import { toHeaderList } from '../headers.js';
import { resolveConnectionOptions, type ResolvedConnectionOptions } from '../options.js';
import type { Transport } from '../transport.js';
import { httpResponse } from './http-response.js';
import { resolveServerPolicy, type ResolvedServerPolicy, type ServerHooks, type ServerPolicyOptions } from './options.js';

/** A handshake the server accepted: the codec's decision and what `authenticate` admitted. */
export type AcceptedUpgrade = Extract<UpgradeDecision, { ok: true }>;

/** How an upgrade request ends: a 101 to write, an HTTP refusal to write, or nothing (the handshake already ended). */
export type Admission<User> =
  | {
      readonly kind: 'accept';
      readonly decision: AcceptedUpgrade;
      readonly user: User;
      /** Refused after the handshake (`authenticate` returned a `closeCode`): closed at once, never announced. */
      readonly closeWith?: { readonly code: number; readonly reason: string } | undefined;
    }
  | { readonly kind: 'refuse'; readonly response: Uint8Array }
  | { readonly kind: 'gone' };

/** An accepted upgrade, as `admit` hands it to the glue. */
export type AcceptedAdmission<User> = Extract<Admission<User>, { kind: 'accept' }>;

/**
 * One handshake in progress: it counts towards `maxConnections`, and ends exactly once —
 * finished by its owner, expired by the handshake timeout (408) or aborted by the server's
 * shutdown (503). Expiry and abort answer through the owner's `refuse`.
 */
export interface PendingHandshake {
  /** False once the handshake ended, whichever way. */
  readonly open: boolean;
  /** Ends it without an answer (the 101 or the owner's own refusal follows). False when it had already ended. */
  finish(): boolean;
}

/** What a runtime's listener glue hands the core to open a connection on an accepted upgrade. */
export interface OpenRequest<User> {
  readonly transport: Transport;
  readonly accepted: AcceptedUpgrade;
  readonly user: User;
  /** The URL the connection reports (`connection.url`). */
  readonly url: string;
  /** Bytes that arrived after the request head: the first frames. */
  readonly initial?: Uint8Array | undefined;
  /** How binary messages are handed out (Node: `Buffer` views on request). */
  readonly binaryView?: ((bytes: Uint8Array) => Uint8Array) | undefined;
  /** Set when `authenticate` refused with a close code: the connection closes at once, unannounced. */
  readonly closeWith?: { readonly code: number; readonly reason: string } | undefined;
  /** Tells the application (the server's `connection` event). A throw closes the connection with 1011. */
  announce(connection: WebSocketConnection<User>): void;
}

const SHUTTING_DOWN = 'The server is shutting down.\n';

/**
 * Everything a WebSocket server does between a transport and the application, once for every
 * runtime: capacity and shutdown refusals, the upgrade decision (protocol checks, origins,
 * subprotocols, `authenticate`), the handshake timeout, opening the connection on the shared
 * connection core, broadcast, cork and graceful close. The runtime's glue only turns its
 * listener into requests and transports: node:http's `upgrade` event on Node, the codec's head
 * parser on a raw socket on Deno and Bun. `Req` is the runtime's own request object, which the
 * hooks receive unchanged.
 */
export class ServerCore<User, Req> {
  readonly clients = new Set<WebSocketConnection<User>>();
  readonly policy: ResolvedServerPolicy;
  readonly connectionOptions: ResolvedConnectionOptions;
  readonly #hooks: ServerHooks<User, Req>;
  readonly #heartbeat: ConnectionHeartbeat | undefined;
  readonly #pending = new Set<HandshakeEntry>();
  readonly #reportError: (error: unknown) => void;
  /** Every connection's end runs this one function: no closure per connection. */
  readonly #forget = (connection: WebSocketConnection<unknown>): void => {
    this.clients.delete(connection as WebSocketConnection<User>);
  };
  #closing: Promise<void> | undefined;

  constructor(options: ServerPolicyOptions & ServerHooks<User, Req>, reportError: (error: unknown) => void) {
    this.policy = resolveServerPolicy(options);
    this.connectionOptions = resolveConnectionOptions(options, 'server');
    this.#hooks = { authenticate: options.authenticate, protocols: options.protocols };
    this.#heartbeat = createHeartbeat(this.connectionOptions);
    this.#reportError = reportError;
  }

  /** True once `close` was called: new upgrades get 503. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  /** Handshakes in progress. */
  get pendingHandshakes(): number {
    return this.#pending.size;
  }

  /**
   * The answer to a new connection or upgrade before anything of it is read, when it cannot be
   * served at all: shutting down, or at `maxConnections` (handshakes in progress count).
   */
  capacityRefusal(): Uint8Array | undefined {
    if (this.#closing) return httpResponse(503, SHUTTING_DOWN);
    if (this.clients.size + this.#pending.size >= this.policy.maxConnections) {
      return httpResponse(503, 'Too many connections.\n', [['Retry-After', '1']]);
    }
    return undefined;
  }

  /** Starts the handshake timer for one connection; `refuse` writes an answer and ends it. */
  beginHandshake(refuse: (response: Uint8Array) => void): PendingHandshake {
    const entry = new HandshakeEntry(this.#pending, refuse, this.policy.handshakeTimeout);
    this.#pending.add(entry);
    return entry;
  }

  /**
   * Decides an upgrade request: the codec's protocol checks, then `authenticate`. Synchronous
   * when there is no `authenticate` (no extra turn before the 101). With a `handshake`, an
   * upgrade whose handshake ended while `authenticate` ran comes back as `gone`.
   */
  decide(head: UpgradeRequest, request: Req, handshake?: PendingHandshake): Admission<User> | Promise<Admission<User>> {
    const options = this.#upgradeOptionsFor(request);
    const decision = this.#validate(head, options);
    if (decision.kind !== 'accept' || this.#hooks.authenticate === undefined) return decision;
    return this.#authenticate(this.#hooks.authenticate, head, request, options, decision.decision, handshake);
  }

  /**
   * Decides an upgrade request and ends its handshake once: nothing when it already ended
   * (timeout, shutdown, the peer left), `refuse` with the HTTP answer, or `accept` with what
   * to open (the glue builds its transport and calls `open`). Synchronous without `authenticate`.
   */
  admit(
    head: UpgradeRequest,
    request: Req,
    handshake: PendingHandshake,
    glue: { readonly refuse: (response: Uint8Array) => void; readonly accept: (admission: AcceptedAdmission<User>) => void },
  ): void | Promise<void> {
    const settle = (admission: Admission<User>): void => {
      if (admission.kind === 'gone' || !handshake.finish()) return;
      if (admission.kind === 'refuse') glue.refuse(admission.response);
      else glue.accept(admission);
    };
    const admission = this.decide(head, request, handshake);
    if (admission instanceof Promise) return admission.then(settle);
    settle(admission);
  }

  /** Writes the 101 and runs the connection on the shared core; the application hears of it through `announce`. */
  open(request: OpenRequest<User>): WebSocketConnection<User> {
    const { transport, accepted } = request;
    const policy = this.policy;
    transport.write([accepted.response]);
    const connection = new WebSocketConnection<User>({
      transport,
      role: 'server',
      options: this.connectionOptions,
      deflate:
        accepted.deflate && policy.deflate && policy.limiter
          ? { params: accepted.deflate, options: policy.deflate, limiter: policy.limiter }
          : undefined,
      protocol: accepted.protocol ?? '',
      extensions: extensionsOf(accepted),
      url: request.url,
      user: request.user,
      binaryView: request.binaryView,
      intercept: policy.intercept,
      heartbeat: this.#heartbeat,
      onClosed: this.#forget,
    });
    this.clients.add(connection);
    if (request.closeWith) {
      connection.start(request.initial);
      connection.close(request.closeWith.code, request.closeWith.reason);
      return connection;
    }
    try {
      request.announce(connection);
    } catch (error) {
      // A bug in the application's connection handler ends this connection, not the process.
      this.#reportError(error);
      if (connection.readyState === 'open') connection.close(1011, 'internal error');
    }
    connection.start(request.initial);
    return connection;
  }

  /**
   * Sends one message to every open connection (or those `filter` keeps), encoding the frame
   * once. Returns how many connections accepted it.
   */
  broadcast(
    data: SendData | PreparedMessage,
    filter?: (connection: WebSocketConnection<User>) => boolean,
    adapt?: (message: PreparedMessage) => PreparedMessage,
  ): number {
    const prepared = isPrepared(data) ? data : prepareMessage(typeof data === 'string' ? data : toBytes(data));
    const message = adapt ? adapt(prepared) : prepared;
    let accepted = 0;
    for (const connection of this.clients) {
      if (filter && !filter(connection)) continue;
      if (connection.sendPrepared(message).status !== 'dropped') accepted += 1;
    }
    return accepted;
  }

  /**
   * Runs `callback` with every connection's writes held back, then writes each connection's
   * batch at once: several broadcasts (or sends) in the callback cost one write per connection
   * instead of one per message and connection.
   */
  cork(callback: () => void): void {
    const held = [...this.clients];
    for (const connection of held) connection[HOLD_WRITES]();
    try {
      callback();
    } finally {
      for (const connection of held) connection[RELEASE_WRITES]();
    }
  }

  /**
   * Starts the graceful shutdown: handshakes in progress get 503, every connection gets a
   * close frame with `code` after what it already accepted, and the promise resolves once every
   * connection is over (the peer's close frame or each connection's close timeout).
   * The runtime glue stops its listener alongside.
   */
  closeAll(code: number, reason: string): Promise<void> {
    if (this.#closing) return this.#closing;
    for (const entry of [...this.#pending]) entry.abort(httpResponse(503, SHUTTING_DOWN));
    this.#closing = Promise.all(
      [...this.clients].map(
        (connection) =>
          new Promise<void>((done) => {
            connection.once('close', () => done());
            connection.close(code, reason);
          }),
      ),
    ).then(() => undefined);
    return this.#closing;
  }

  #upgradeOptionsFor(request: Req): UpgradeServerOptions {
    const choose = this.#hooks.protocols;
    if (typeof choose !== 'function') return this.policy.upgrade;
    return { ...this.policy.upgrade, protocols: (offered) => choose(offered, request) };
  }

  #validate(head: UpgradeRequest, options: UpgradeServerOptions): Admission<User> {
    let decision: UpgradeDecision;
    try {
      decision = validateUpgradeRequest(head, options);
    } catch (error) {
      // Only a `protocols` function can throw here: the options were validated at construction.
      this.#reportError(error);
      return { kind: 'refuse', response: httpResponse(500, 'Internal error.\n') };
    }
    if (!decision.ok) return { kind: 'refuse', response: decision.response };
    return { kind: 'accept', decision, user: undefined as User };
  }

  async #authenticate(
    authenticate: NonNullable<ServerHooks<User, Req>['authenticate']>,
    head: UpgradeRequest,
    request: Req,
    options: UpgradeServerOptions,
    first: AcceptedUpgrade,
    handshake: PendingHandshake | undefined,
  ): Promise<Admission<User>> {
    let verdict: AuthResult<User>;
    try {
      verdict = await authenticate(request);
    } catch (error) {
      this.#reportError(error);
      verdict = { ok: false, status: 500 };
    }
    if (handshake && !handshake.open) return { kind: 'gone' };
    if (this.#closing) return { kind: 'refuse', response: httpResponse(503, SHUTTING_DOWN) };
    if (!verdict.ok && verdict.closeCode !== undefined) {
      if (!Number.isInteger(verdict.closeCode) || verdict.closeCode < 4000 || verdict.closeCode > 4999) {
        this.#reportError(new RangeError(`authenticate: closeCode must be an integer from 4000 to 4999, got ${String(verdict.closeCode)}`));
        return { kind: 'refuse', response: httpResponse(500, 'Internal error.\n') };
      }
      return { kind: 'accept', decision: first, user: undefined as User, closeWith: { code: verdict.closeCode, reason: truncateReason(verdict.reason ?? '') } };
    }
    if (!verdict.ok) {
      const status = Number.isInteger(verdict.status) && verdict.status >= 400 && verdict.status <= 599 ? verdict.status : 403;
      return { kind: 'refuse', response: httpResponse(status, verdict.body ?? '', toHeaderList(verdict.headers)) };
    }
    if (verdict.headers === undefined) return { kind: 'accept', decision: first, user: verdict.user };
    // The 101 is rebuilt with the headers `authenticate` added (validated like `extraHeaders`).
    const extraHeaders = [...(options.extraHeaders ?? []), ...toHeaderList(verdict.headers)];
    const decision = this.#validate(head, { ...options, extraHeaders });
    return decision.kind === 'accept' ? { ...decision, user: verdict.user } : decision;
  }
}

class HandshakeEntry implements PendingHandshake {
  #open = true;
  readonly #registry: Set<HandshakeEntry>;
  readonly #refuse: (response: Uint8Array) => void;
  readonly #timer: ReturnType<typeof setTimeout>;

  constructor(registry: Set<HandshakeEntry>, refuse: (response: Uint8Array) => void, timeout: number) {
    this.#registry = registry;
    this.#refuse = refuse;
    this.#timer = setTimeout(() => this.abort(httpResponse(408, 'Handshake timeout.\n')), timeout);
  }

  get open(): boolean {
    return this.#open;
  }

  finish(): boolean {
    if (!this.#open) return false;
    this.#open = false;
    clearTimeout(this.#timer);
    this.#registry.delete(this);
    return true;
  }

  abort(response: Uint8Array): void {
    if (this.finish()) this.#refuse(response);
  }
}

function extensionsOf(accepted: AcceptedUpgrade): string {
  for (const [name, value] of accepted.responseHeaders) if (name.toLowerCase() === 'sec-websocket-extensions') return value;
  return '';
}

function isPrepared(data: SendData | PreparedMessage): data is PreparedMessage {
  return typeof data === 'object' && data !== null && !ArrayBuffer.isView(data) && 'chunks' in data && 'payload' in data;
}

const reasonEncoder = new TextEncoder();

/** A close reason within the 123 bytes RFC 6455 §5.5 leaves, cut at a character boundary. */
function truncateReason(reason: string): string {
  if (reasonEncoder.encode(reason).byteLength <= 123) return reason;
  let cut = '';
  let bytes = 0;
  for (const character of reason) {
    const size = reasonEncoder.encode(character).byteLength;
    if (bytes + size > 123) break;
    cut += character;
    bytes += size;
  }
  return cut;
}
