import type { Duplex } from 'node:stream';

/** Writes a response (if the socket still takes writes) and ends the socket; never throws. */
export function refuse(socket: Duplex, response: Uint8Array): void {
  if (socket.writable && !socket.destroyed) {
    socket.end(response);
    // A peer that never reads must not keep the socket forever.
    setTimeout(() => socket.destroy(), 2000).unref();
  } else {
    socket.destroy();
  }
}
