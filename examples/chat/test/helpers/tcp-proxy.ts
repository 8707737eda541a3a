// A loopback TCP proxy that can "lose the network": `cut()` destroys every proxied
// connection and refuses new ones (accept, then reset) until `restore()`. Given a function
// for its target it is also a minimal load balancer: each new connection goes where the
// function says at that moment.
//
// Needed because Chromium's offline emulation (`context.setOffline(true)`) does not cut an
// open WebSocket: it holds its frames and delivers them when the context is back online.
// A real network loss ends the TCP connection, which is what this does.
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: number | (() => number)): Promise<TcpProxy> {
  const targetPort = typeof target === 'number' ? () => target : target;
  let online = true;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (!online) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort(), '127.0.0.1');
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    cut() {
      online = false;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    restore() {
      online = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
