// End to end: the real server process, real Chromium pages, real reconnects.
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { DESKTOP, PHONE, launchUser, type BrowserUser } from './helpers/browser.js';
import { chatRoot, startChat, type ChatProcess } from './helpers/chat-process.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { connectPeer, type Peer } from './helpers/peer.js';
import { bannerText, messageTexts, openChat, presenceText, say, waitForBanner, waitForMessage } from './helpers/chat-page.js';

const artifacts = join(chatRoot, 'test-results');

describe('the chat in Chromium', { timeout: 60_000 }, () => {
  let dataDir: string;
  let server: ChatProcess;
  let users: BrowserUser[] = [];
  let proxies: TcpProxy[] = [];
  let peers: Peer[] = [];

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true });
    dataDir = await mkdtemp(join(tmpdir(), 'chat-e2e-'));
    server = await startChat({ dataFile: join(dataDir, 'history.json') });
  }, 60_000);

  beforeEach(() => {
    onTestFailed(() => {
      console.error(`server output:\n${server.output()}`);
      for (const user of users) if (user.errors.length > 0) console.error(`page errors:\n${user.errors.join('\n')}`);
    });
  });

  afterEach(async () => {
    await Promise.all(users.map((user) => user.close()));
    users = [];
    await Promise.all(proxies.map((proxy) => proxy.close()));
    proxies = [];
    await Promise.all(peers.map((peer) => peer.close()));
    peers = [];
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }, 30_000);

  async function user(viewport = DESKTOP): Promise<BrowserUser> {
    const launched = await launchUser(viewport);
    users.push(launched);
    return launched;
  }

  it('two people pick names, join one room, see each other and exchange messages', async () => {
    const alice = await user(DESKTOP);
    const bob = await user(PHONE);
    await openChat(alice.page, server.origin, 'alice', 'lobby');
    await openChat(bob.page, server.origin, 'bob', 'lobby');

    await alice.page.waitForFunction(() => document.querySelector('#presence')?.textContent?.includes('bob'));
    expect(await presenceText(alice.page)).toBe('Online: alice (you), bob');
    expect(await presenceText(bob.page)).toBe('Online: alice, bob (you)');

    await say(alice.page, 'Hi Bob!');
    await waitForMessage(bob.page, 'Hi Bob!');
    // Bob starts typing: Alice sees it before his message arrives.
    await bob.page.locator('#text').pressSequentially('Hello', { delay: 20 });
    await alice.page.waitForFunction(() => document.querySelector('#typing')?.textContent === 'bob is typing…');
    await bob.page.locator('#text').pressSequentially(' Alice', { delay: 20 });
    await bob.page.locator('#text').press('Enter');
    await waitForMessage(alice.page, 'Hello Alice');
    await alice.page.waitForFunction(() => document.querySelector('#typing')?.textContent === '');

    expect(await messageTexts(alice.page)).toEqual(['Hi Bob!', 'Hello Alice']);
    expect(await messageTexts(bob.page)).toEqual(['Hi Bob!', 'Hello Alice']);
    // The room list shows the new room with its head count.
    await alice.page.waitForFunction(() => document.querySelector('#room-list [data-room="lobby"] .count')?.textContent === '2 online');
    expect(alice.errors).toEqual([]);
    expect(bob.errors).toEqual([]);

    // The picture for the README: a conversation with Bob typing his next line.
    await say(bob.page, 'Is this the chat from `pnpm start`?');
    await waitForMessage(alice.page, 'Is this the chat from `pnpm start`?');
    await say(alice.page, 'Yes: rooms, presence, history, and messages typed offline are sent when you are back.');
    await waitForMessage(bob.page, 'Yes: rooms, presence, history, and messages typed offline are sent when you are back.');
    await bob.page.locator('#text').pressSequentially('Nice, trying it', { delay: 10 });
    await alice.page.waitForFunction(() => document.querySelector('#typing')?.textContent === 'bob is typing…');
    await alice.page.screenshot({ path: join(artifacts, 'chat-desktop.png') });
    await bob.page.screenshot({ path: join(artifacts, 'chat-phone.png') });
  });

  it('works from the keyboard alone on a phone-sized screen: rooms keep their own history', async () => {
    const carol = await user(PHONE);
    const page = carol.page;
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute('data-room') || '');
    await page.goto(`${server.origin}/`);
    expect(await focused()).toBe('username');
    await page.keyboard.type('carol');
    await page.keyboard.press('Enter');
    await waitForBanner(page, 'connected');
    await expect.poll(focused, { timeout: 5_000 }).toBe('text');
    await page.keyboard.type('hello general');
    await page.keyboard.press('Enter');
    await waitForMessage(page, 'hello general');

    // Back from the composer: the message list, the Create button, the room name field.
    for (const expected of ['messages', '', 'room-name']) {
      await page.keyboard.press('Shift+Tab');
      if (expected !== '') expect(await focused()).toBe(expected);
    }
    await page.keyboard.type('Plans');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#room-title')?.textContent === '#plans');
    expect(await page.evaluate(() => location.hash)).toBe('#plans');
    await expect.poll(focused, { timeout: 5_000 }).toBe('text');
    await page.keyboard.type('first plan');
    await page.keyboard.press('Enter');
    await waitForMessage(page, 'first plan');
    expect(await messageTexts(page)).toEqual(['first plan']);

    // Back past the room name field, up the room list (in alphabetical order) to #general.
    const rooms = await page.locator('#room-list button').evaluateAll((buttons) => buttons.map((button) => (button as HTMLElement).dataset['room'] ?? ''));
    expect(rooms).toEqual([...rooms].sort());
    expect(rooms).toEqual(expect.arrayContaining(['general', 'plans', 'random']));
    const upTheList = rooms.slice(rooms.indexOf('general')).reverse();
    for (const expected of ['messages', '', 'room-name', ...upTheList]) {
      await page.keyboard.press('Shift+Tab');
      if (expected !== '') expect(await focused()).toBe(expected);
    }
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#room-title')?.textContent === '#general');
    await waitForMessage(page, 'hello general');
    expect(await messageTexts(page)).toEqual(['hello general']);
    await expect.poll(focused, { timeout: 5_000 }).toBe('text');
    // Nothing is wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
    expect(carol.errors).toEqual([]);
  });

  it('messages typed offline are sent after the reconnect, once and in order', async () => {
    const alice = await user(DESKTOP);
    const bob = await user(PHONE);
    // Bob's network: a TCP proxy that can drop his connections (see helpers/tcp-proxy.ts).
    const network = await startTcpProxy(server.port);
    proxies.push(network);
    await openChat(alice.page, server.origin, 'alice', 'offline');
    await openChat(bob.page, `http://127.0.0.1:${network.port}`, 'bob', 'offline');
    await say(bob.page, 'before going offline');
    await waitForMessage(alice.page, 'before going offline');

    await bob.context.setOffline(true);
    network.cut();
    await waitForBanner(bob.page, 'offline');
    await bob.page.waitForFunction(() => document.querySelector<HTMLElement>('#banner')?.dataset['client'] !== 'open');
    // The server saw Bob's connection end.
    await alice.page.waitForFunction(() => document.querySelector('#presence')?.textContent === 'Online: alice (you)');
    await say(bob.page, 'typed offline 1');
    await say(bob.page, 'typed offline 2');
    await bob.page.waitForFunction(() => document.querySelector('#banner')?.textContent === 'Offline · 2 messages queued');
    expect(await bob.page.locator('#messages .message.pending').count()).toBe(2);
    await bob.page.screenshot({ path: join(artifacts, 'chat-offline.png') });
    expect(await messageTexts(alice.page)).toEqual(['before going offline']);

    network.restore();
    await bob.context.setOffline(false);
    await waitForBanner(bob.page, 'connected');
    await waitForMessage(alice.page, 'typed offline 2');
    await waitForMessage(bob.page, 'typed offline 2');
    await say(alice.page, 'welcome back');
    await waitForMessage(bob.page, 'welcome back');

    const expected = ['before going offline', 'typed offline 1', 'typed offline 2', 'welcome back'];
    expect(await messageTexts(alice.page)).toEqual(expected);
    expect(await messageTexts(bob.page)).toEqual(expected);
    expect(await bob.page.locator('#messages .message.pending').count()).toBe(0);
    // A fresh page load shows what the server stored: each message once.
    await bob.page.reload();
    await waitForBanner(bob.page, 'connected');
    await waitForMessage(bob.page, 'welcome back');
    expect(await messageTexts(bob.page)).toEqual(expected);
  });

  it('a room missed for too long is reloaded: the server says resync, the page shows the latest history', async () => {
    const dana = await user(PHONE);
    const network = await startTcpProxy(server.port);
    proxies.push(network);
    const received: string[] = [];
    dana.page.on('websocket', (socket) => socket.on('framereceived', (frame) => received.push(String(frame.payload))));
    await openChat(dana.page, `http://127.0.0.1:${network.port}`, 'dana', 'busy');
    const writers = await Promise.all(
      Array.from({ length: 11 }, async (_, i) => {
        const peer = await connectPeer(`ws://127.0.0.1:${server.port}/ws?name=writer${i}`);
        peers.push(peer);
        return peer;
      }),
    );
    // One more peer speaks before and reads after: each writer stays within its rate-limit burst.
    const reader = await connectPeer(`ws://127.0.0.1:${server.port}/ws?name=reader`);
    peers.push(reader);
    const first = await reader.request('say', { room: 'busy', id: 'busy-first-0', text: 'seen by dana' });
    expect(first['ok'], JSON.stringify(first)).toBe(true);
    await waitForMessage(dana.page, 'seen by dana');

    await dana.context.setOffline(true);
    network.cut();
    await dana.page.waitForFunction(() => document.querySelector<HTMLElement>('#banner')?.dataset['client'] !== 'open');
    // 220 messages while she is away: more than the 200 the room's history keeps.
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < 20; i++) {
          const n = w * 20 + i;
          const reply = await writer.request('say', { room: 'busy', id: `busy-${String(n).padStart(6, '0')}`, text: `missed ${n}` });
          expect(reply['ok'], JSON.stringify(reply)).toBe(true);
        }
      }),
    );
    network.restore();
    await dana.context.setOffline(false);
    await waitForBanner(dana.page, 'connected');
    await expect.poll(() => received.some((text) => text.includes('"t":"resync"') && text.includes('room:busy')), { timeout: 15_000 }).toBe(true);

    // What is on screen is the room's latest history (the last 100 messages), each once, in order.
    const history = await reader.request('history', { room: 'busy' });
    expect(history['ok'], JSON.stringify(history)).toBe(true);
    const latest = (history['data'] as { history: Array<{ text: string }> }).history.map((message) => message.text);
    expect(latest).toHaveLength(100);
    await waitForMessage(dana.page, latest.at(-1)!);
    expect(await messageTexts(dana.page)).toEqual(latest);
  });

  it('an HTML payload is shown as text and never runs', async () => {
    const alice = await user(DESKTOP);
    const bob = await user(DESKTOP);
    await openChat(alice.page, server.origin, 'alice', 'xss');
    await openChat(bob.page, server.origin, 'bob', 'xss');
    const payloads = [
      `<img src=x onerror="window.__xss = 'img'; document.title = 'pwned'">`,
      `<script>window.__xss = 'script'</script>`,
      `<b>bold?</b> &amp; <a href="javascript:window.__xss='link'">click</a>`,
    ];
    for (const payload of payloads) await say(alice.page, payload);
    for (const payload of payloads) await waitForMessage(bob.page, payload);

    for (const page of [alice.page, bob.page]) {
      expect(await messageTexts(page)).toEqual(payloads);
      // Rendered as text: the payloads made no elements at all.
      expect(await page.locator('#messages img, #messages script, #messages b, #messages a').count()).toBe(0);
      expect(await page.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined();
      expect(await page.title()).not.toBe('pwned');
    }
    // The history served on join is rendered the same way.
    await bob.page.reload();
    await waitForBanner(bob.page, 'connected');
    await waitForMessage(bob.page, payloads[2]!);
    expect(await bob.page.locator('#messages img, #messages script, #messages b, #messages a').count()).toBe(0);
    expect(await bob.page.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(bob.errors).toEqual([]);
  });

  it('the server restarts mid-conversation: both pages reconnect and the history is intact', async () => {
    const dataFile = join(dataDir, 'restart-history.json');
    let own = await startChat({ dataFile });
    try {
      const alice = await user(DESKTOP);
      const bob = await user(PHONE);
      await openChat(alice.page, own.origin, 'alice', 'general');
      await openChat(bob.page, own.origin, 'bob', 'general');
      await say(alice.page, 'are you there?');
      await waitForMessage(bob.page, 'are you there?');
      await say(bob.page, 'yes');
      await waitForMessage(alice.page, 'yes');

      // SIGTERM: the server closes every connection with 1001 and saves the history.
      const exit = await own.stop('SIGTERM');
      expect(exit.code).toBe(0);
      expect(own.output()).toContain('closing connections (1001)');
      for (const page of [alice.page, bob.page]) {
        await page.waitForFunction(() => document.querySelector<HTMLElement>('#banner')?.dataset['client'] !== 'open');
        await page.waitForFunction(() => document.querySelector<HTMLElement>('#banner')?.dataset['lastClose'] === '1001');
      }
      expect(await bannerText(alice.page)).toMatch(/^Reconnecting/);

      own = await startChat({ dataFile, port: own.port });
      await waitForBanner(alice.page, 'connected');
      await waitForBanner(bob.page, 'connected');
      await alice.page.waitForFunction(() => document.querySelector('#presence')?.textContent === 'Online: alice (you), bob');

      const before = ['are you there?', 'yes'];
      expect(await messageTexts(alice.page)).toEqual(before);
      expect(await messageTexts(bob.page)).toEqual(before);
      await say(alice.page, 'still here after the restart');
      await waitForMessage(bob.page, 'still here after the restart');
      // A new visitor after the restart gets the whole conversation as history.
      const carol = await user(DESKTOP);
      await openChat(carol.page, own.origin, 'carol', 'general');
      await waitForMessage(carol.page, 'still here after the restart');
      expect(await messageTexts(carol.page)).toEqual([...before, 'still here after the restart']);
      expect(await messageTexts(bob.page)).toEqual([...before, 'still here after the restart']);
    } finally {
      await own.stop();
    }
  });
});
