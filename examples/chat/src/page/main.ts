// The chat page. One reconnecting client (@switchyard/client) built from the shared
// protocol; everything else is bookkeeping of what is on screen.
import { createClient, RequestError, type Client, type StateChange } from '@switchyard/client';
import {
  ChatCloseCode,
  DEFAULT_ROOM,
  SOCKET_PATH,
  chatProtocol,
  roomTopic,
  type ChatMessage,
  type ChatProtocolShape,
  type RoomSummary,
} from '../protocol.js';
import { checkRoom, checkText, checkUsername } from '../rules.js';
import { messageId } from './ids.js';
import {
  appendMessage,
  confirmRow,
  markPending,
  messageRow,
  notice,
  showBanner,
  showPresence,
  showRooms,
  showTyping,
  ui,
  type BannerState,
} from './view.js';

type ChatClient = Client<ChatProtocolShape>;

const NAME_KEY = 'switchyard-chat:name';
/** How often "still typing" is repeated, and how long a typist is shown without one. */
const TYPING_REPEAT_MS = 2_000;
const TYPING_IDLE_MS = 3_000;
const TYPING_SHOWN_MS = 6_000;
/** How long a message may wait for a connection before the page gives up on it. */
const DELIVERY_TIMEOUT_MS = 60 * 60 * 1000;

let me = '';
let room = roomFromHash() ?? DEFAULT_ROOM;
let client: ChatClient | undefined;
/** The room the server has us in on the current connection (typing news is only sent there). */
let joined: string | undefined;
/** Messages received while a `join` or `history` request is on its way (undefined when none is). */
let arrivedDuringLoad: ChatMessage[] | undefined;
let rooms: readonly RoomSummary[] = [];
let lastState: StateChange | undefined;
/** Whether a connection was ever open: later attempts are reconnections. */
let everOpen = false;
let bannerTimer: ReturnType<typeof setInterval> | undefined;
/** Rows of the room on screen, by message id, so a message is never shown twice. */
const rows = new Map<string, HTMLLIElement>();
/** The user's own messages that the server has not confirmed yet (in any room). */
const pending = new Map<string, ChatMessage>();
const typists = new Map<string, ReturnType<typeof setTimeout>>();
let typingSentAt = 0;
let typingStopTimer: ReturnType<typeof setTimeout> | undefined;

function roomFromHash(): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(location.hash.slice(1));
  } catch {
    return undefined; // a malformed escape: not a room
  }
  const verdict = checkRoom(name);
  return verdict.ok ? verdict.value : undefined;
}

function socketUrl(name: string): string {
  const url = new URL(SOCKET_PATH, location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('name', name);
  return url.href;
}

// ── connection ─────────────────────────────────────────────────────────────

function start(name: string): void {
  me = name;
  sessionStorage.setItem(NAME_KEY, name);
  ui.login.hidden = true;
  ui.chat.hidden = false;
  const chat = createClient(chatProtocol, {
    url: () => socketUrl(me),
    // A refused username will be refused again: stop and ask for another.
    fatalCloseCodes: [ChatCloseCode.InvalidUsername],
    heartbeatInterval: 15_000,
    heartbeatTimeout: 5_000,
    maxDelay: 10_000,
  });
  client = chat;
  chat.onEvent('state', onState);
  chat.onEvent('resync', ({ topic }) => topic === roomTopic(room) && void reloadHistory());
  chat.onEvent('gap', ({ topic }) => topic === roomTopic(room) && void reloadHistory());
  chat.on('message', onMessage);
  chat.on('presence', (update) => update.room === room && showPresence(update.members, me));
  chat.on('typing', onTyping);
  chat.on('rooms', (update) => updateRooms(update.rooms));
  chat.on('error', (error) => (ui.chatError.textContent = error.message));
  showRoomHeader();
  ui.text.focus();
}

function onState(change: StateChange): void {
  lastState = change;
  if (change.state === 'open') everOpen = true;
  // Why the last open connection ended (1001: the server is shutting down), for people debugging.
  if (change.previous === 'open' && change.code !== undefined) ui.banner.dataset['lastClose'] = String(change.code);
  renderBanner();
  clearInterval(bannerTimer);
  if (change.state === 'reconnecting') bannerTimer = setInterval(renderBanner, 250);
  // Who is online is only known while connected; the join and room list after reconnecting refresh it.
  if (change.state !== 'open') {
    ui.presence.textContent = '';
    joined = undefined;
    if (rooms.some((entry) => entry.online > 0)) updateRooms(rooms.map((entry) => ({ ...entry, online: 0 })));
  }
  if (change.state === 'open') {
    ui.chatError.textContent = '';
    void enterRoom(room);
    void client?.request('rooms', {}).then((reply) => updateRooms(reply.rooms), ignoreDisconnect);
  }
  if (change.state === 'closed' && change.code === ChatCloseCode.InvalidUsername) {
    sessionStorage.removeItem(NAME_KEY);
    ui.chat.hidden = true;
    ui.login.hidden = false;
    ui.loginError.textContent = change.closeReason || 'That username was refused.';
    ui.username.focus();
  }
}

function renderBanner(): void {
  showBanner(bannerState());
  const state = client?.state ?? 'idle';
  ui.banner.dataset['client'] = state;
  markPending(state === 'open' ? 'sending…' : 'queued');
}

function bannerState(): BannerState {
  const state = lastState;
  const queued = pending.size;
  if (state === undefined) return { kind: 'idle' };
  if (state.state === 'closed') return { kind: 'closed', reason: state.closeReason || 'the connection was closed' };
  if (!navigator.onLine) return { kind: 'offline', queued };
  switch (state.state) {
    case 'idle':
      return { kind: 'idle' };
    case 'open':
      return { kind: 'connected' };
    case 'connecting':
      return everOpen ? { kind: 'reconnecting', inSeconds: 0, queued } : { kind: 'connecting' };
    case 'reconnecting': {
      const inSeconds = Math.max(0, Math.ceil(((state.nextRetryAt ?? Date.now()) - Date.now()) / 1000));
      return { kind: 'reconnecting', inSeconds, queued };
    }
  }
}

const ignoreDisconnect = (error: unknown): void => {
  // A request cut short by a lost connection is simply made again once it is back.
  if (error instanceof RequestError && (error.code === 'disconnected' || error.code === 'closed')) return;
  ui.chatError.textContent = error instanceof Error ? error.message : String(error);
};

// ── rooms ──────────────────────────────────────────────────────────────────

function showRoomHeader(): void {
  ui.roomTitle.textContent = `#${room}`;
  document.title = `#${room} · Switchyard chat`;
  updateRooms(rooms);
}

function updateRooms(next: readonly RoomSummary[]): void {
  rooms = next.some((entry) => entry.name === room) ? next : [...next, { name: room, online: 0 }];
  rooms = [...rooms].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  showRooms(rooms, room, (name) => void switchRoom(name));
}

async function switchRoom(name: string): Promise<void> {
  if (name === room) return;
  room = name;
  history.replaceState(null, '', `#${encodeURIComponent(name)}`);
  rows.clear();
  ui.messages.replaceChildren();
  ui.presence.textContent = '';
  clearTypists();
  showRoomHeader();
  await enterRoom(name);
  ui.text.focus();
}

/** Joins `name` on the server and shows its history; called on every (re)connect too. */
async function enterRoom(name: string): Promise<void> {
  if (client?.state !== 'open') return; // joined when the connection opens
  joined = undefined;
  const reply = await loading(client.request('join', { room: name }));
  if (reply === undefined || reply.room !== room) return; // failed, or the user moved on meanwhile
  joined = reply.room;
  showHistory(reply.history, reply.arrived);
  showPresence(reply.members, me);
}

async function reloadHistory(): Promise<void> {
  if (client?.state !== 'open') return;
  const reply = await loading(client.request('history', { room }));
  if (reply !== undefined && reply.room === room) showHistory(reply.history, reply.arrived);
}

/**
 * Awaits a request that returns history, collecting the messages that arrive meanwhile:
 * live messages can overtake the reply, and those newer than its history must stay on screen.
 */
async function loading<T>(request: Promise<T>): Promise<(T & { arrived: ChatMessage[] }) | undefined> {
  const arrived: ChatMessage[] = [];
  arrivedDuringLoad = arrived;
  try {
    return { ...(await request), arrived };
  } catch (error) {
    ignoreDisconnect(error);
    return undefined;
  } finally {
    if (arrivedDuringLoad === arrived) arrivedDuringLoad = undefined;
  }
}

// ── messages ───────────────────────────────────────────────────────────────

/**
 * Replaces the list with the server's history, then `newer` messages it does not contain,
 * then the user's unconfirmed messages.
 */
function showHistory(history: readonly ChatMessage[], newer: readonly ChatMessage[] = []): void {
  rows.clear();
  ui.messages.replaceChildren();
  for (const message of [...history, ...newer]) {
    if (rows.has(message.id) || message.room !== room) continue;
    pending.delete(message.id);
    addRow(message, false);
  }
  for (const message of pending.values()) if (message.room === room) addRow(message, true);
  if (history.length === 0 && rows.size === 0) ui.messages.append(notice(`This is the start of #${room}.`));
  ui.messages.scrollTop = ui.messages.scrollHeight;
  renderBanner();
}

function addRow(message: ChatMessage, isPending: boolean): void {
  const row = messageRow(message, { mine: message.from === me, pending: isPending });
  rows.set(message.id, row);
  appendMessage(row);
}

function onMessage(message: ChatMessage): void {
  arrivedDuringLoad?.push(message);
  const wasPending = pending.delete(message.id);
  if (wasPending) renderBanner();
  if (message.room !== room) return;
  clearTypist(message.from);
  const row = rows.get(message.id);
  if (row !== undefined) confirmRow(row, message);
  else {
    ui.messages.querySelector('.notice')?.remove();
    addRow(message, false);
  }
}

function failMessage(id: string, reason: string): void {
  pending.delete(id);
  const row = rows.get(id);
  if (row !== undefined) {
    row.classList.remove('pending');
    row.classList.add('failed');
    const time = row.querySelector('time');
    if (time !== null) time.textContent = reason;
  }
  ui.chatError.textContent = reason;
  renderBanner();
}

function sendMessage(): void {
  const verdict = checkText(ui.text.value);
  if (!verdict.ok) {
    ui.chatError.textContent = verdict.error;
    return;
  }
  if (client === undefined) return;
  ui.chatError.textContent = '';
  const message: ChatMessage = { id: messageId(), room, from: me, text: verdict.value, at: Date.now() };
  pending.set(message.id, message);
  ui.messages.querySelector('.notice')?.remove();
  addRow(message, true);
  ui.messages.scrollTop = ui.messages.scrollHeight;
  ui.text.value = '';
  resizeComposer();
  stopTyping();
  // Sent now, or queued by the client and sent once the connection is back. Idempotent: if
  // the connection drops before the reply, the client sends it again after reconnecting
  // (ahead of anything queued later, so the order holds) and the server keeps one copy.
  client
    .request('say', { room, id: message.id, text: message.text }, { idempotent: true, timeout: DELIVERY_TIMEOUT_MS })
    .then(
      (stored) => onMessage(stored),
      (error: unknown) => failMessage(message.id, sendFailure(error)),
    );
  renderBanner();
}

function sendFailure(error: unknown): string {
  if (!(error instanceof RequestError)) return 'not sent';
  switch (error.code) {
    case 'remote':
      return error.remote?.message ?? 'refused by the server';
    case 'dropped':
      return 'not sent: too many messages waiting';
    case 'timeout':
      return 'not delivered in time';
    default:
      return 'not sent';
  }
}

// ── typing indicator ───────────────────────────────────────────────────────

function onInput(): void {
  resizeComposer();
  // Typing news is worthless later, so it is never queued: only sent while in the room.
  if (client?.state !== 'open' || joined !== room) return;
  const now = Date.now();
  if (ui.text.value.trim() === '') {
    stopTyping();
    return;
  }
  if (now - typingSentAt > TYPING_REPEAT_MS) {
    typingSentAt = now;
    client.send('typing', { room, typing: true });
  }
  clearTimeout(typingStopTimer);
  typingStopTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping(): void {
  clearTimeout(typingStopTimer);
  if (typingSentAt === 0) return;
  typingSentAt = 0;
  if (client?.state === 'open' && joined === room) client.send('typing', { room, typing: false });
}

function onTyping(update: { room: string; name: string; typing: boolean }): void {
  if (update.room !== room || update.name === me) return;
  clearTimeout(typists.get(update.name));
  if (update.typing) typists.set(update.name, setTimeout(() => clearTypist(update.name), TYPING_SHOWN_MS));
  else typists.delete(update.name);
  showTyping([...typists.keys()]);
}

function clearTypist(name: string): void {
  if (!typists.has(name)) return;
  clearTimeout(typists.get(name));
  typists.delete(name);
  showTyping([...typists.keys()]);
}

function clearTypists(): void {
  for (const timer of typists.values()) clearTimeout(timer);
  typists.clear();
  showTyping([]);
}

function resizeComposer(): void {
  ui.text.style.height = 'auto';
  ui.text.style.height = `${ui.text.scrollHeight}px`;
}

// ── wiring ─────────────────────────────────────────────────────────────────

ui.loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const verdict = checkUsername(ui.username.value);
  if (!verdict.ok) {
    ui.loginError.textContent = verdict.error;
    return;
  }
  ui.loginError.textContent = '';
  start(verdict.value);
});

ui.roomForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const verdict = checkRoom(ui.roomName.value);
  if (!verdict.ok) {
    ui.roomError.textContent = verdict.error;
    return;
  }
  ui.roomError.textContent = '';
  ui.roomName.value = '';
  void switchRoom(verdict.value);
});

ui.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  sendMessage();
});

ui.text.addEventListener('keydown', (event) => {
  // Enter sends; Shift+Enter (and Enter while an input method is composing) adds a line.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage();
  }
});
ui.text.addEventListener('input', onInput);
window.addEventListener('online', renderBanner);
window.addEventListener('offline', renderBanner);
window.addEventListener('hashchange', () => {
  const target = roomFromHash();
  if (target !== undefined && client !== undefined) void switchRoom(target);
});

const saved = checkUsername(sessionStorage.getItem(NAME_KEY) ?? '');
if (saved.ok) start(saved.value);
else ui.username.focus();
