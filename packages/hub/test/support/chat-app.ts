/**
 * The chat used by the end-to-end tests, as an app would write it on any adapter: `join`
 * subscribes the connection to a room and puts it in the room's presence, `who` lists the
 * room's members (every node), `say` publishes a line to the room.
 */
import { parseClientFrame } from '@switchyard/wire';
import type { PeerConnection } from '@switchyard/codec';
import type { Hub } from '../../src/index.js';
import type { ChatProtocol } from './chat-protocol.js';

export type ChatHub = Hub<ChatProtocol, { name: string }>;

/** Returns the handler for the connection's text messages. */
export function chatConnection(hub: ChatHub, peer: PeerConnection): (text: string) => void {
  hub.attach(peer);
  let name = 'anonymous';
  const reply = (id: number, data: unknown): void => {
    peer.send(JSON.stringify({ t: 'res', id, ok: true, data }));
  };
  return (text) => {
    if (hub.handle(peer, text)) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      peer.close(1007, 'not JSON');
      return;
    }
    const parsed = parseClientFrame(value);
    if (!parsed.ok) {
      peer.close(1008, parsed.error);
      return;
    }
    const frame = parsed.frame;
    if (frame.t === 'ping') {
      peer.send(JSON.stringify({ t: 'pong', ts: frame.ts }));
    } else if (frame.t === 'req' && frame.type === 'join') {
      const data = frame.data as { room: string; name: string };
      name = data.name;
      void (async () => {
        await hub.subscribe(peer, data.room);
        await hub.presence.join(peer, data.room, { name });
        reply(frame.id, { members: (await hub.presence.list(data.room)).length });
      })();
    } else if (frame.t === 'req' && frame.type === 'who') {
      const data = frame.data as { room: string };
      void hub.presence.list(data.room).then((members) => reply(frame.id, members.map((m) => m.meta.name).sort()));
    } else if (frame.t === 'msg' && frame.type === 'say') {
      const data = frame.data as { room: string; text: string };
      hub.publish(data.room, 'line', { room: data.room, text: data.text, from: name }).catch(() => {
        // The broker is down: tell the sender its line was not published.
        peer.send(JSON.stringify({ t: 'msg', type: 'notice', data: { text: 'not sent: broker unavailable' } }));
      });
    }
  };
}
