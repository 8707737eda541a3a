import * as net from 'node:net';
import * as tls from 'node:tls';
import { BaseWebSocket, type ClientOptions, type Connect } from '@switchyard/adapter-kit';
import type { ConnectionOptions } from '../options.js';
import { NodeSocketTransport } from '../transport.js';

/** Node-only options, on top of the WHATWG constructor's `(url, protocols)`; `tls` takes node:tls's options. */
export interface WebSocketClientOptions extends ClientOptions<tls.ConnectionOptions>, ConnectionOptions {}

/** node:net / node:tls under the shared client: resolves once the TCP (and TLS) connection is up. */
const connect: Connect<tls.ConnectionOptions> = (target, tlsOptions, signal) =>
  new Promise<NodeSocketTransport>((resolve, reject) => {
    const socket = target.secure
      ? tls.connect({
          host: target.hostname,
          port: target.port,
          servername: net.isIP(target.hostname) === 0 ? target.hostname : undefined,
          ALPNProtocols: ['http/1.1'],
          ...tlsOptions,
        })
      : net.connect({ host: target.hostname, port: target.port });
    const ready = target.secure ? 'secureConnect' : 'connect';
    const cleanup = (): void => {
      socket.off(ready, onReady);
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onReady = (): void => {
      cleanup();
      resolve(new NodeSocketTransport(socket));
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onAbort = (): void => onError(new Error('the connection attempt was abandoned'));
    socket.once(ready, onReady);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * The WHATWG `WebSocket` interface on Node (https://websockets.spec.whatwg.org/), so browser
 * code and @switchyard/client run unchanged: readyState constants, binaryType, event handler
 * attributes, `send`, `close` with the standard's checks, `bufferedAmount`, `protocol`,
 * `extensions`, `url`. A third argument takes Node-only options (headers, `tls`, limits,
 * permessage-deflate, redirects).
 */
export class WebSocket extends BaseWebSocket<tls.ConnectionOptions> {
  constructor(url: string | URL, protocols?: string | readonly string[], options: WebSocketClientOptions = {}) {
    super(url, protocols, options, connect);
  }
}
