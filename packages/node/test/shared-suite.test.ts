// The connection core's behaviour suite (the same file Deno and Bun run, see
// packages/deno-bun/test/shared/suite.ts), here on @switchyard/node under vitest. The runtime's
// "own" WebSocket is ws, the reference implementation on Node 20.
import { once } from 'node:events';
import { it } from 'vitest';
import { WebSocket as WsWebSocket } from 'ws';
import { WebSocket, WebSocketServer } from '../src/index.js';
import { defineSuite, type RuntimeUnderTest } from '../../deno-bun/test/shared/suite.js';

defineSuite(
  {
    name: 'node',
    WebSocketServer: WebSocketServer as unknown as RuntimeUnderTest['WebSocketServer'],
    WebSocket: WebSocket as unknown as RuntimeUnderTest['WebSocket'],
    NativeWebSocket: WsWebSocket as unknown as typeof globalThis.WebSocket,
    ownsHttp: false,
    listening: async (server) => {
      if (server.port === 0) await once(server as unknown as WebSocketServer, 'listening');
    },
  },
  (name, fn) => it(name, fn, 30_000),
);
