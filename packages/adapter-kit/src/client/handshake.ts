import {
  HttpHeadParser,
  buildUpgradeRequest,
  resolveWebSocketUrl,
  validateUpgradeResponse,
  type BuiltUpgradeRequest,
  type DeflateClientOptions,
  type DeflateParams,
  type HeaderList,
  type HttpResponseHead,
  type WebSocketTarget,
} from '@switchyard/codec';
import { HandshakeError } from '../errors.js';
import type { Transport, TransportHandler } from '../transport.js';

/**
 * How a runtime opens the TCP (or TLS, for `wss:`) connection under a client: resolves once the
 * bytes can flow. `signal` aborts when the handshake is abandoned (timeout, `close()`), so the
 * runtime can drop a connection attempt still in flight.
 */
export type Connect<Tls> = (target: WebSocketTarget, tls: Tls | undefined, signal: AbortSignal) => Promise<Transport>;

export interface ClientHandshakeOptions<Tls> {
  readonly protocols: readonly string[];
  readonly headers: HeaderList;
  readonly origin: string | undefined;
  readonly perMessageDeflate: DeflateClientOptions | undefined;
  readonly tls: Tls | undefined;
  /** From the start of the first connection attempt to the 101, redirects included (ms). */
  readonly handshakeTimeout: number;
  /** Redirects (3xx with Location) to follow; 0 refuses them, as browsers do. */
  readonly maxRedirects: number;
}

export interface ClientHandshakeResult {
  readonly transport: Transport;
  /** The URL finally connected to (differs from the requested one after a redirect). */
  readonly url: URL;
  readonly protocol: string;
  readonly extensions: string;
  readonly deflate: DeflateParams | undefined;
  /**
   * Bytes after the 101 head (the first frames, when the server sent them at once), then
   * anything that arrives until the connection takes the transport over: take them with it.
   */
  readonly rest: Uint8Array[];
}

/** A handshake in progress; `abort` ends it (its promise then rejects). */
export interface PendingHandshake {
  readonly result: Promise<ClientHandshakeResult>;
  abort(): void;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

type AttemptOutcome =
  | { readonly kind: 'done'; readonly result: ClientHandshakeResult }
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string };

/**
 * The client's opening handshake over any runtime's transport: the codec builds the request,
 * parses the response head and checks it, so the bytes on the wire are the codec's on every
 * runtime. Redirects are followed up to `maxRedirects`; one timer bounds the whole handshake.
 */
export function startHandshake<Tls>(url: URL, options: ClientHandshakeOptions<Tls>, connect: Connect<Tls>): PendingHandshake {
  // The first request is built at once, so that a bad URL, subprotocol or header throws here,
  // in the constructor that asked for it.
  const first = buildRequest(url, options);
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new HandshakeError(`no handshake response within ${options.handshakeTimeout} ms`));
      controller.abort();
    }, options.handshakeTimeout);
    controller.signal.addEventListener('abort', () => reject(new HandshakeError('the handshake was aborted')), { once: true });
  });
  timedOut.catch(() => undefined);
  const run = async (): Promise<ClientHandshakeResult> => {
    let target = url;
    let request = first;
    for (let redirectsLeft = options.maxRedirects; ; redirectsLeft -= 1) {
      const outcome = await Promise.race([attempt(target, request, options, connect, controller.signal), timedOut]);
      if (outcome.kind === 'done') return outcome.result;
      if (redirectsLeft <= 0) {
        throw new HandshakeError(
          `the server redirected (${outcome.status}) to ${outcome.location}; redirects are refused (maxRedirects)`,
          outcome.status,
        );
      }
      target = redirectTarget(outcome, target);
      request = buildRequest(target, options);
    }
  };
  const result = run().finally(() => clearTimeout(timer));
  return { result, abort: () => controller.abort() };
}

function redirectTarget(outcome: { readonly status: number; readonly location: string }, from: URL): URL {
  let next: URL;
  try {
    next = new URL(outcome.location, from.href.replace(/^ws/, 'http'));
  } catch {
    throw new HandshakeError(`invalid redirect location ${outcome.location}`, outcome.status);
  }
  if (next.protocol === 'http:') next.protocol = 'ws:';
  else if (next.protocol === 'https:') next.protocol = 'wss:';
  try {
    resolveWebSocketUrl(next);
  } catch (error) {
    throw new HandshakeError(`cannot follow the redirect to ${outcome.location}: ${(error as Error).message}`, outcome.status);
  }
  return next;
}

function buildRequest<Tls>(url: URL, options: ClientHandshakeOptions<Tls>): BuiltUpgradeRequest {
  return buildUpgradeRequest(url, {
    protocols: options.protocols,
    headers: options.headers,
    ...(options.origin !== undefined ? { origin: options.origin } : {}),
    ...(options.perMessageDeflate ? { perMessageDeflate: options.perMessageDeflate } : {}),
  });
}

async function attempt<Tls>(
  url: URL,
  request: BuiltUpgradeRequest,
  options: ClientHandshakeOptions<Tls>,
  connect: Connect<Tls>,
  signal: AbortSignal,
): Promise<AttemptOutcome> {
  const target = resolveWebSocketUrl(url);
  let transport: Transport;
  try {
    transport = await connect(target, options.tls, signal);
  } catch (error) {
    throw new HandshakeError(`could not connect to ${target.host}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (signal.aborted) {
    transport.destroy();
    throw new HandshakeError('the handshake was aborted');
  }
  return new Promise<AttemptOutcome>((resolve, reject) => {
    const parser = new HttpHeadParser('response');
    let settled = false;
    const onAbort = (): void => fail(new HandshakeError('the handshake was aborted'));
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      transport.destroy();
      reject(error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const rest: Uint8Array[] = [];
    let opened = false;
    const handler: TransportHandler = {
      data: (chunk) => {
        // After the 101 and until the connection takes over, bytes are kept for it.
        if (opened) {
          rest.push(chunk);
          return;
        }
        if (settled) return;
        const parsed = parser.push(chunk);
        if (parsed.status === 'incomplete') return;
        if (parsed.status === 'error') return fail(new HandshakeError(`invalid handshake response: ${parsed.message}`));
        const head = parsed.head as HttpResponseHead;
        if (REDIRECT_STATUSES.has(head.status)) {
          const location = head.headers.find(([name]) => name.toLowerCase() === 'location')?.[1];
          if (location !== undefined) {
            settled = true;
            signal.removeEventListener('abort', onAbort);
            transport.destroy();
            resolve({ kind: 'redirect', status: head.status, location });
            return;
          }
        }
        const checked = validateUpgradeResponse(head, {
          key: request.key,
          protocols: options.protocols,
          ...(request.offeredDeflate ? { offeredDeflate: request.offeredDeflate } : {}),
        });
        if (!checked.ok) return fail(new HandshakeError(checked.reason, head.status));
        settled = true;
        opened = true;
        signal.removeEventListener('abort', onAbort);
        // Nothing more is read until the connection's own handler is in place.
        transport.pause();
        if (parsed.rest.byteLength > 0) rest.push(parsed.rest);
        resolve({
          kind: 'done',
          result: {
            transport,
            url,
            protocol: checked.protocol ?? '',
            extensions: checked.extensions,
            deflate: checked.deflate,
            rest,
          },
        });
      },
      drain: () => undefined,
      end: () => fail(new HandshakeError('the server closed the connection during the handshake')),
      closed: (error) =>
        fail(new HandshakeError(`the connection closed during the handshake${error ? `: ${error.message}` : ''}`)),
    };
    transport.attach(handler);
    transport.write([request.bytes]);
  });
}
