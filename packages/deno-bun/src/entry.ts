import { BaseWebSocket, type ClientOptions, type ClientTlsOptions, type Connect } from './client.js';
import { BaseWebSocketServer, type Listen, type WebSocketServerOptions } from './server.js';

/** The server class of one runtime: the shared server on that runtime's listener. */
export type RuntimeServerClass = new <User = undefined>(options?: WebSocketServerOptions<User>) => BaseWebSocketServer<User>;
/** The WHATWG client class of one runtime: the shared client on that runtime's `connect`. */
export type RuntimeClientClass = new (url: string | URL, protocols?: string | readonly string[], options?: ClientOptions) => BaseWebSocket<ClientTlsOptions>;

/**
 * The two classes a runtime entry point exports, from what differs between runtimes: how a
 * server listens and how a client connects. Everything else is the shared core's.
 */
export function runtimeClasses(listen: Listen, connect: Connect): { readonly WebSocketServer: RuntimeServerClass; readonly WebSocket: RuntimeClientClass } {
  class WebSocketServer<User = undefined> extends BaseWebSocketServer<User> {
    constructor(options: WebSocketServerOptions<User> = {}) {
      super(options, listen);
    }
  }
  class WebSocket extends BaseWebSocket<ClientTlsOptions> {
    constructor(url: string | URL, protocols?: string | readonly string[], options: ClientOptions = {}) {
      super(url, protocols, options, connect);
    }
  }
  return { WebSocketServer, WebSocket };
}
