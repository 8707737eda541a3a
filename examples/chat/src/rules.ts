// The chat's input rules, shared by the server (which enforces them) and the page (which
// checks them first so a person sees the problem before anything is sent).

export const LIMITS = {
  usernameMax: 24,
  roomMax: 32,
  textMax: 1000,
  /** Largest WebSocket message the server accepts; bigger ones close with 1009. */
  maxMessageBytes: 8 * 1024,
} as const;

export type Verdict = { ok: true; value: string } | { ok: false; error: string };

const USERNAME = /^[\p{L}\p{N}_.-]+$/u;
const ROOM = /^[a-z0-9][a-z0-9-]*$/;
// C0/C1 control characters other than tab and newline, and the bidirectional overrides and
// isolates that can make a message display differently from what was typed.
const FORBIDDEN_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

export function checkUsername(raw: unknown): Verdict {
  if (typeof raw !== 'string') return { ok: false, error: 'The username must be text.' };
  // One spelling per name: "é" typed as one character or as e + accent is the same name.
  const value = raw.normalize('NFC').trim();
  if (value.length === 0) return { ok: false, error: 'Pick a username.' };
  if ([...value].length > LIMITS.usernameMax) {
    return { ok: false, error: `A username has at most ${LIMITS.usernameMax} characters.` };
  }
  if (!USERNAME.test(value)) {
    return { ok: false, error: 'A username may use letters, digits, "_", "-" and "." only.' };
  }
  return { ok: true, value };
}

export function checkRoom(raw: unknown): Verdict {
  if (typeof raw !== 'string') return { ok: false, error: 'The room name must be text.' };
  const value = raw.trim().toLowerCase();
  if (value.length === 0) return { ok: false, error: 'Name the room.' };
  if (value.length > LIMITS.roomMax) {
    return { ok: false, error: `A room name has at most ${LIMITS.roomMax} characters.` };
  }
  if (!ROOM.test(value)) {
    return {
      ok: false,
      error: 'A room name uses a–z, 0–9 and "-", and starts with a letter or digit.',
    };
  }
  return { ok: true, value };
}

export function checkText(raw: unknown): Verdict {
  if (typeof raw !== 'string') return { ok: false, error: 'The message must be text.' };
  const value = raw.trim();
  if (value.length === 0) return { ok: false, error: 'The message is empty.' };
  if ([...value].length > LIMITS.textMax) {
    return { ok: false, error: `A message has at most ${LIMITS.textMax} characters.` };
  }
  if (FORBIDDEN_IN_TEXT.test(value)) {
    return { ok: false, error: 'The message contains control characters.' };
  }
  return { ok: true, value };
}

/** Client-chosen message ids make a resent message recognisable, so it is stored once. */
export function checkMessageId(raw: unknown): Verdict {
  if (typeof raw !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(raw)) {
    return { ok: false, error: 'The message id is malformed.' };
  }
  return { ok: true, value: raw };
}
