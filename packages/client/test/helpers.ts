import { createClient } from '../src/client.js';
import { defineProtocol, type Protocol, type ProtocolShape } from '../src/protocol.js';
import type { ClientOptions, DropEvent, InvalidEvent, StateChange } from '../src/types.js';
import { fakeWebSocket, settle } from './fake-socket.js';

export interface Chat {
  client: { say: { text: string }; typing: undefined };
  server: { said: { from: string; text: string } };
  requests: {
    join: { req: { room: string }; res: { members: string[] } };
    leave: { req: { room: string }; res: undefined };
  };
}

export const chat = defineProtocol<Chat>();

/** A client over a fresh fake WebSocket class, with every event it emits recorded. */
export async function setup<P extends ProtocolShape = Chat>(options: Partial<ClientOptions> = {}, protocol?: Protocol<P>) {
  const fake = fakeWebSocket();
  const client = createClient((protocol ?? chat) as Protocol<P>, {
    url: 'ws://switchyard.test/',
    WebSocket: fake.WebSocket,
    window: null,
    random: () => 0.5,
    ...options,
  });
  const states: StateChange[] = [];
  const drops: DropEvent[] = [];
  const invalid: InvalidEvent[] = [];
  client.onEvent('state', (change) => states.push(change));
  client.onEvent('drop', (drop) => drops.push(drop));
  client.onEvent('invalid', (event) => invalid.push(event));
  await settle();
  return { client, fake, states, drops, invalid };
}

/** setup(), then the first socket opens. */
export async function connected<P extends ProtocolShape = Chat>(options: Partial<ClientOptions> = {}, protocol?: Protocol<P>) {
  const context = await setup(options, protocol);
  context.fake.last.open();
  return context;
}
