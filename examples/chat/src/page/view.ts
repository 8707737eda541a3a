// Everything the page draws. Functions take plain data and update the DOM; none of them
// knows about the connection.
import type { ChatMessage, RoomSummary } from '../protocol.js';
import { byId, h, text } from './dom.js';

export const ui = {
  banner: byId('banner', HTMLElement),
  login: byId('login', HTMLElement),
  loginForm: byId('login-form', HTMLFormElement),
  username: byId('username', HTMLInputElement),
  loginError: byId('login-error', HTMLElement),
  chat: byId('chat', HTMLElement),
  roomList: byId('room-list', HTMLUListElement),
  roomForm: byId('room-form', HTMLFormElement),
  roomName: byId('room-name', HTMLInputElement),
  roomError: byId('room-error', HTMLElement),
  roomTitle: byId('room-title', HTMLElement),
  presence: byId('presence', HTMLElement),
  messages: byId('messages', HTMLOListElement),
  typing: byId('typing', HTMLElement),
  composer: byId('composer', HTMLFormElement),
  text: byId('text', HTMLTextAreaElement),
  chatError: byId('chat-error', HTMLElement),
};

export type BannerState =
  | { kind: 'idle' }
  | { kind: 'connecting' }
  | { kind: 'connected' }
  | { kind: 'reconnecting'; inSeconds: number; queued: number }
  | { kind: 'offline'; queued: number }
  | { kind: 'closed'; reason: string };

const queuedNote = (queued: number): string =>
  queued === 0 ? '' : ` · ${queued} message${queued === 1 ? '' : 's'} queued`;

export function showBanner(state: BannerState): void {
  ui.banner.dataset['state'] = state.kind;
  ui.banner.textContent = (() => {
    switch (state.kind) {
      case 'idle':
        return '';
      case 'connecting':
        return 'Connecting…';
      case 'connected':
        return 'Connected';
      case 'reconnecting':
        return `${state.inSeconds > 0 ? `Reconnecting in ${state.inSeconds} s` : 'Reconnecting…'}${queuedNote(state.queued)}`;
      case 'offline':
        return `Offline${queuedNote(state.queued)}`;
      case 'closed':
        return `Disconnected: ${state.reason}`;
    }
  })();
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** One message row. `pending` rows are the sender's own, not yet confirmed by the server. */
export function messageRow(message: ChatMessage, options: { mine: boolean; pending: boolean }): HTMLLIElement {
  const row = h(
    'li',
    { class: `message${options.mine ? ' mine' : ''}${options.pending ? ' pending' : ''}`, attrs: { 'data-id': message.id } },
    h(
      'div',
      { class: 'meta' },
      text('span', 'from', message.from),
      h('time', { attrs: { datetime: new Date(message.at).toISOString() } }, options.pending ? 'sending…' : timeFormat.format(message.at)),
    ),
    text('p', 'text', message.text),
  );
  return row;
}

export function confirmRow(row: HTMLLIElement, message: ChatMessage): void {
  row.classList.remove('pending');
  const time = row.querySelector('time');
  if (time !== null) {
    time.dateTime = new Date(message.at).toISOString();
    time.textContent = timeFormat.format(message.at);
  }
}

/** Labels the user's unconfirmed messages: "queued" while disconnected, "sending…" while connected. */
export function markPending(label: string): void {
  for (const time of ui.messages.querySelectorAll('.message.pending time')) {
    if (time.textContent !== label) time.textContent = label;
  }
}

export function notice(content: string): HTMLLIElement {
  return text('li', 'notice', content);
}

/** Keeps the newest message in view unless the reader has scrolled up to read older ones. */
export function appendMessage(row: HTMLLIElement): void {
  const list = ui.messages;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  list.append(row);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

export function showRooms(
  rooms: readonly RoomSummary[],
  current: string,
  onJoin: (room: string) => void,
): void {
  const focusedRoom = document.activeElement instanceof HTMLElement ? document.activeElement.dataset['room'] : undefined;
  ui.roomList.replaceChildren(
    ...rooms.map((room) => {
      const button = h(
        'button',
        { attrs: { type: 'button', 'data-room': room.name, 'aria-current': String(room.name === current) } },
        text('span', 'name', `#${room.name}`),
        text('span', 'count', room.online > 0 ? `${room.online} online` : ''),
      );
      button.addEventListener('click', () => onJoin(room.name));
      return h('li', {}, button);
    }),
  );
  if (focusedRoom !== undefined) {
    ui.roomList.querySelector<HTMLButtonElement>(`button[data-room="${CSS.escape(focusedRoom)}"]`)?.focus();
  }
}

export function showPresence(members: readonly string[], me: string): void {
  const names = [...members].sort((a, b) => a.localeCompare(b)).map((name) => (name === me ? `${name} (you)` : name));
  ui.presence.textContent = names.length === 0 ? 'nobody online' : `Online: ${names.join(', ')}`;
}

export function showTyping(names: readonly string[]): void {
  ui.typing.textContent =
    names.length === 0
      ? ''
      : names.length === 1
        ? `${names[0]} is typing…`
        : names.length <= 3
          ? `${names.join(', ')} are typing…`
          : 'Several people are typing…';
}
