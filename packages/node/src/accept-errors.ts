import type { Server } from 'node:net';
import { AcceptError } from '@switchyard/adapter-kit';

/** Accept failures that end when the process frees resources: the listener itself is fine. */
const RESOURCE_EXHAUSTION = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);

/**
 * Watches a listening server's errors. Out of descriptors or memory, libuv keeps the listener
 * and accepts again once they are free, so that is reported once per burst (until a connection
 * is accepted again) as an `AcceptError` with `fatal: false`; any other error of the listening
 * socket goes to `onError` as it is. For servers you listen on yourself (an `http.Server` given
 * as `server`); a standalone `WebSocketServer` does this for its own.
 */
export function watchAcceptErrors(server: Server, onExhausted: (error: AcceptError) => void, onError: (error: Error) => void): void {
  let failing = false;
  server.on('connection', () => {
    failing = false;
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.syscall === 'accept' && RESOURCE_EXHAUSTION.has(error.code ?? '')) {
      if (!failing) onExhausted(new AcceptError(error, false));
      failing = true;
      return;
    }
    onError(error);
  });
}
