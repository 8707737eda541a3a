// What clients send is `unknown` until it passes here: each function returns the protocol's
// type or throws a `Refusal` carrying the message the client is shown.
import type { ChatErrorCode, ChatProtocolShape } from '../protocol.js';
import { checkMessageId, checkRoom, checkText, type Verdict } from '../rules.js';

type Requests = ChatProtocolShape['requests'];
type ClientEvents = ChatProtocolShape['client'];

/** A refusal the client is told about (as an `error` event or an error reply). */
export class Refusal extends Error {
  constructor(
    readonly code: ChatErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function required(verdict: Verdict): string {
  if (!verdict.ok) throw new Refusal('invalid', verdict.error);
  return verdict.value;
}

/** A field of an object payload, `undefined` for anything else. */
export const field = (data: unknown, name: string): unknown =>
  typeof data === 'object' && data !== null && Object.hasOwn(data, name) ? (data as Record<string, unknown>)[name] : undefined;

export function parseSay(data: unknown): Requests['say']['req'] {
  return {
    room: required(checkRoom(field(data, 'room'))),
    id: required(checkMessageId(field(data, 'id'))),
    text: required(checkText(field(data, 'text'))),
  };
}

export function parseTyping(data: unknown): ClientEvents['typing'] {
  const typing = field(data, 'typing');
  if (typeof typing !== 'boolean') throw new Refusal('invalid', '"typing" must be true or false.');
  return { room: required(checkRoom(field(data, 'room'))), typing };
}

export function parseRoomRequest(data: unknown): { room: string } {
  return { room: required(checkRoom(field(data, 'room'))) };
}
