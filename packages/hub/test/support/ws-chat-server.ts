/** The chat app over a `ws` server (through the WsPeer wrapper). */
import { WebSocketServer, type WebSocket } from 'ws';
import { chatConnection, type ChatHub } from './chat-app.js';
import { WsPeer } from './ws-peer.js';

export interface ChatServer {
  readonly url: string;
  readonly sockets: Set<WebSocket>;
  close(): Promise<void>;
}

export async function startChatServer(hub: ChatHub): Promise<ChatServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const sockets = new Set<WebSocket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const onText = chatConnection(hub, new WsPeer(socket));
    socket.on('message', (raw, isBinary) => (isBinary ? socket.close(1003, 'text only') : onText(raw.toString())));
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/`,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.terminate();
        server.close(() => resolve());
      }),
  };
}
