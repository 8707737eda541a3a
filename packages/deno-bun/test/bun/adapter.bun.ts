// The adapter's tests inside Bun: `bun --conditions=@switchyard/source test ./packages/deno-bun/test/bun/adapter.bun.ts`
// (scripts/test.d/30-deno-bun.sh).
import { test } from 'bun:test';
import { WebSocket, WebSocketServer } from '../../src/bun.js';
import { defineSuite } from '../shared/suite.js';

defineSuite({ name: 'bun', WebSocketServer, WebSocket, NativeWebSocket: globalThis.WebSocket, ownsHttp: true }, (name, fn) => test(name, fn, 30_000));
