import { defineProtocol } from '@switchyard/client';

/** The protocol of the chat used by the end-to-end tests. */
export type ChatProtocol = {
  client: { say: { room: string; text: string } };
  server: { line: { room: string; text: string; from: string }; notice: { text: string } };
  requests: {
    join: { req: { room: string; name: string }; res: { members: number } };
    who: { req: { room: string }; res: string[] };
  };
};

export const chatProtocol = defineProtocol<ChatProtocol>();
