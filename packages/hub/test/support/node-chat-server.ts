/** The chat app over @switchyard/node: its connections are PeerConnections as they are. */
import { WebSocketServer, type WebSocketConnection } from '@switchyard/node';
import { chatConnection, type ChatHub } from './chat-app.js';

export interface NodeChatServer {
  readonly url: string;
  readonly port: number;
  readonly connections: Set<WebSocketConnection>;
  close(): Promise<void>;
}

export async function startNodeChatServer(hub: ChatHub, port = 0): Promise<NodeChatServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port });
  const connections = new Set<WebSocketConnection>();
  server.on('connection', (connection) => {
    connections.add(connection);
    connection.once('close', () => connections.delete(connection));
    const onText = chatConnection(hub, connection);
    connection.on('message', (data, isBinary) => (isBinary ? connection.close(1003, 'text only') : onText(String(data))));
  });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('the server has no TCP address');
  return {
    url: `ws://127.0.0.1:${address.port}/`,
    port: address.port,
    connections,
    close: () => server.close(),
  };
}
