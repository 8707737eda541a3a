/**
 * `@switchyard/deno-bun`: picks the Deno or the Bun implementation at load time, by the runtime
 * it finds. Prefer the explicit entry points (`@switchyard/deno-bun/deno`, `/bun`) when the
 * runtime is known: they are typed against that runtime and load only its code.
 */
import { BaseWebSocket, type ClientOptions, type ClientTlsOptions } from './client.js';
import * as bun from './bun.js';
import * as deno from './deno.js';
import { BaseWebSocketServer, type WebSocketServerOptions } from './server.js';

export * from './common.js';

/** The runtime this module found: 'deno', 'bun', or undefined anywhere else. */
export const runtime: 'deno' | 'bun' | undefined =
  typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined'
    ? 'deno'
    : typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined'
      ? 'bun'
      : undefined;

function unsupported(): never {
  throw new Error('@switchyard/deno-bun runs on Deno or Bun; on Node use @switchyard/node');
}

/** The WebSocket server of the current runtime. */
export const WebSocketServer: new <User = undefined>(options?: WebSocketServerOptions<User>) => BaseWebSocketServer<User> =
  runtime === 'deno'
    ? deno.WebSocketServer
    : runtime === 'bun'
      ? bun.WebSocketServer
      : (class {
          constructor() {
            unsupported();
          }
        } as unknown as new <User = undefined>(options?: WebSocketServerOptions<User>) => BaseWebSocketServer<User>);
export type WebSocketServer<User = undefined> = BaseWebSocketServer<User>;

/** The WHATWG WebSocket client of the current runtime. */
export const WebSocket: new (url: string | URL, protocols?: string | readonly string[], options?: ClientOptions) => BaseWebSocket<ClientTlsOptions> =
  runtime === 'deno'
    ? deno.WebSocket
    : runtime === 'bun'
      ? bun.WebSocket
      : (class {
          constructor() {
            unsupported();
          }
        } as unknown as new (url: string | URL, protocols?: string | readonly string[], options?: ClientOptions) => BaseWebSocket<ClientTlsOptions>);
export type WebSocket = BaseWebSocket<ClientTlsOptions>;
