import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  HttpHeadParser,
  buildUpgradeRequest,
  resolveWebSocketUrl,
  validateUpgradeResponse,
  type DeflateClientOptions,
  type DeflateParams,
  type HeaderList,
  type HttpResponseHead,
} from '@switchyard/codec';
import { HandshakeError } from '../errors.js';

export interface ClientHandshakeOptions {
  readonly protocols: readonly string[];
  readonly headers: HeaderList;
  readonly origin: string | undefined;
  readonly perMessageDeflate: DeflateClientOptions | undefined;
  readonly tls: tls.ConnectionOptions | undefined;
  readonly handshakeTimeout: number;
  /** Redirects (3xx with Location) to follow; 0 refuses them. */
  readonly maxRedirects: number;
}

export interface ClientHandshakeResult {
  readonly socket: net.Socket;
  /** The URL finally connected to (differs from the requested one after a redirect). */
  readonly url: URL;
  readonly protocol: string;
  readonly extensions: string;
  readonly deflate: DeflateParams | undefined;
  /** Bytes after the 101 head: the first frames, when the server sent them at once. */
  readonly rest: Uint8Array;
}

/** A handshake in progress; `abort` destroys its socket. */
export interface PendingHandshake {
  readonly result: Promise<ClientHandshakeResult>;
  abort(): void;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Opens the TCP (or TLS) connection and performs the opening handshake with the codec's
 * request builder, head parser and response check — node:http is not involved, so the bytes
 * on the wire are exactly what the codec decided.
 */
export function startHandshake(url: URL, options: ClientHandshakeOptions): PendingHandshake {
  let current: net.Socket | undefined;
  let aborted = false;
  const attempt = async (target: URL, redirectsLeft: number): Promise<ClientHandshakeResult> => {
    const once = await handshakeOnce(target, options, (socket) => {
      current = socket;
      if (aborted) socket.destroy();
    });
    if (once.kind === 'done') return once.result;
    if (redirectsLeft <= 0) {
      throw new HandshakeError(`the server redirected (${once.status}) to ${once.location}; redirects are refused (maxRedirects)`, once.status);
    }
    let next: URL;
    try {
      next = new URL(once.location, target.href.replace(/^ws/, 'http'));
    } catch {
      throw new HandshakeError(`invalid redirect location ${once.location}`, once.status);
    }
    if (next.protocol === 'http:') next.protocol = 'ws:';
    else if (next.protocol === 'https:') next.protocol = 'wss:';
    return attempt(next, redirectsLeft - 1);
  };
  return {
    result: attempt(url, options.maxRedirects),
    abort: () => {
      aborted = true;
      current?.destroy();
    },
  };
}

type HandshakeOutcome =
  | { kind: 'done'; result: ClientHandshakeResult }
  | { kind: 'redirect'; status: number; location: string };

function handshakeOnce(url: URL, options: ClientHandshakeOptions, onSocket: (socket: net.Socket) => void): Promise<HandshakeOutcome> {
  return new Promise<HandshakeOutcome>((resolve, reject) => {
    const target = resolveWebSocketUrl(url);
    const request = buildUpgradeRequest(url, {
      protocols: options.protocols,
      headers: options.headers,
      origin: options.origin,
      perMessageDeflate: options.perMessageDeflate ?? false,
    });
    const socket = target.secure
      ? tls.connect({
          host: target.hostname,
          port: target.port,
          servername: net.isIP(target.hostname) === 0 ? target.hostname : undefined,
          ALPNProtocols: ['http/1.1'],
          ...options.tls,
        })
      : net.connect({ host: target.hostname, port: target.port });
    onSocket(socket);
    const parser = new HttpHeadParser('response');
    let settled = false;
    const timer = setTimeout(() => fail(new HandshakeError(`no handshake response within ${options.handshakeTimeout} ms`)), options.handshakeTimeout);

    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off(target.secure ? 'secureConnect' : 'connect', onConnect);
    };
    const fail = (error: Error): void => {
      if (settled) return;
      cleanup();
      socket.on('error', () => undefined);
      socket.destroy();
      reject(error);
    };
    const onConnect = (): void => {
      socket.setNoDelay(true);
      socket.write(request.bytes);
    };
    const onError = (error: Error): void => fail(new HandshakeError(`connection failed: ${error.message}`));
    const onClose = (): void => fail(new HandshakeError('the server closed the connection during the handshake'));
    const onData = (chunk: Buffer): void => {
      const parsed = parser.push(chunk);
      if (parsed.status === 'incomplete') return;
      if (parsed.status === 'error') return fail(new HandshakeError(`invalid handshake response: ${parsed.message}`));
      const head = parsed.head as HttpResponseHead;
      if (REDIRECT_STATUSES.has(head.status)) {
        const location = head.headers.find(([name]) => name.toLowerCase() === 'location')?.[1];
        if (location !== undefined) {
          cleanup();
          socket.destroy();
          resolve({ kind: 'redirect', status: head.status, location });
          return;
        }
      }
      const checked = validateUpgradeResponse(head, {
        key: request.key,
        protocols: options.protocols,
        offeredDeflate: request.offeredDeflate,
      });
      if (!checked.ok) return fail(new HandshakeError(checked.reason, head.status));
      cleanup();
      // Nothing may be read until the connection's own listener is in place.
      socket.pause();
      resolve({
        kind: 'done',
        result: {
          socket,
          url,
          protocol: checked.protocol ?? '',
          extensions: checked.extensions,
          deflate: checked.deflate,
          rest: parsed.rest,
        },
      });
    };
    socket.once(target.secure ? 'secureConnect' : 'connect', onConnect);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}
