// The chat's protocol: every message the page and the server exchange, in one type that
// both sides compile against. The page builds a typed client from it (@switchyard/client);
// the server checks what it receives against the same names and shapes.
import { defineProtocol } from '@switchyard/client';

/** One chat message as stored and shown. `id` is chosen by the sender's page. */
export interface ChatMessage {
  readonly id: string;
  readonly room: string;
  readonly from: string;
  readonly text: string;
  /** Server time when the message was accepted, milliseconds since the epoch. */
  readonly at: number;
}

export interface RoomSummary {
  readonly name: string;
  /** People connected to the room right now (on every server instance). */
  readonly online: number;
}

/** Why the server refused something. `field` names the input at fault, when there is one. */
export type ChatErrorCode = 'invalid' | 'rate-limited' | 'not-in-room' | 'unknown-type' | 'unavailable' | 'internal';

export interface ChatError {
  readonly code: ChatErrorCode;
  readonly message: string;
}

export interface ChatProtocolShape {
  client: {
    /** The sender started or stopped typing in a room. */
    typing: { room: string; typing: boolean };
  };
  server: {
    /** A message in a room, stamped with the room's topic and sequence number. */
    message: ChatMessage;
    /** Who is in a room now. Sent on every change. */
    presence: { room: string; members: readonly string[] };
    /** Someone started or stopped typing. Never sent back to the typist. */
    typing: { room: string; name: string; typing: boolean };
    /** The room list changed (a room was created or its head count changed). */
    rooms: { rooms: readonly RoomSummary[] };
    /** Something the client sent was refused. */
    error: ChatError;
  };
  requests: {
    /**
     * Post a message to a room. The reply is the message as stored; it also reaches every
     * member of the room (the sender included) as `message`. Safe to send twice: the server
     * stores one message per `id`, so the page marks it idempotent and the client re-sends it
     * after a reconnect when the reply was lost.
     */
    say: { req: { room: string; id: string; text: string }; res: ChatMessage };
    /** Enter a room (leaving the previous one): its recent history and who is there. */
    join: {
      req: { room: string };
      res: { room: string; history: readonly ChatMessage[]; members: readonly string[] };
    };
    /** The recent history of a room, e.g. after a resync. */
    history: { req: { room: string }; res: { room: string; history: readonly ChatMessage[] } };
    /** The known rooms. */
    rooms: { req: Record<string, never>; res: { rooms: readonly RoomSummary[] } };
  };
}

/** The hub topic that carries a room's messages. */
export const roomTopic = (room: string): string => `room:${room}`;
export const roomFromTopic = (topic: string): string | undefined =>
  topic.startsWith('room:') ? topic.slice(5) : undefined;

/** The WebSocket endpoint's path, and the query parameters a connection carries. */
export const SOCKET_PATH = '/ws';
export const DEFAULT_ROOM = 'general';

/**
 * Close codes the server uses besides the standard ones. The client treats them as final:
 * reconnecting with the same username would be refused again.
 */
export const ChatCloseCode = {
  InvalidUsername: 4400,
} as const;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Checks a message payload at runtime: the page displays nothing that is not this shape. */
export function isChatMessage(value: unknown): value is ChatMessage {
  return (
    isRecord(value) &&
    typeof value['id'] === 'string' &&
    typeof value['room'] === 'string' &&
    typeof value['from'] === 'string' &&
    typeof value['text'] === 'string' &&
    typeof value['at'] === 'number'
  );
}

/**
 * The protocol value the page's client is built from. Its type parameter is what makes
 * `send`, `on` and `request` compile-time checked; the validator rejects a malformed
 * `message` before the page sees it.
 */
export const chatProtocol = defineProtocol<ChatProtocolShape>({
  server: { message: isChatMessage },
});
