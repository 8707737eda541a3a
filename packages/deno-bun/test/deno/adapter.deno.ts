// The adapter's tests inside Deno: `deno test -A --conditions=@switchyard/source --unstable-sloppy-imports
// packages/deno-bun/test/deno/` (scripts/test.d/30-deno-bun.sh).
import { WebSocket, WebSocketServer } from '../../src/deno.js';
import { defineSuite } from '../shared/suite.js';

defineSuite(
  { name: 'deno', WebSocketServer, WebSocket, NativeWebSocket: globalThis.WebSocket, ownsHttp: true },
  (name, fn) => Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false }),
);
