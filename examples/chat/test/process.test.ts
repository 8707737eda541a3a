// The server as `pnpm start` runs it: its own process, signals, restarts, command line.
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startChat, type ChatProcess } from './helpers/chat-process.js';
import { connectPeer, events, isEvent, type Peer } from './helpers/peer.js';

let dataDir: string;
const running: ChatProcess[] = [];
const peers: Peer[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'chat-process-'));
}, 30_000);
afterEach(async () => {
  await Promise.all(peers.splice(0).map((peer) => peer.close()));
  await Promise.all(running.splice(0).map((server) => server.stop('SIGKILL')));
}, 30_000);
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
}, 30_000);

async function launch(options: Parameters<typeof startChat>[0]): Promise<ChatProcess> {
  const server = await startChat(options);
  running.push(server);
  return server;
}

async function peer(server: ChatProcess, name: string): Promise<Peer> {
  const connected = await connectPeer(`ws://127.0.0.1:${server.port}/ws?name=${name}`);
  peers.push(connected);
  return connected;
}

describe('graceful shutdown and restart', { timeout: 60_000 }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}: clients get 1001, the history is saved, a restart continues the numbering`, async () => {
      const dataFile = join(dataDir, `${signal}.json`);
      const first = await launch({ dataFile });
      const alice = await peer(first, 'alice');
      await alice.request('join', { room: 'general' });
      for (const text of ['one', 'two', 'three']) await alice.request('say', { room: 'general', id: `id-${text}-000`, text });
      const lastSeen = (await alice.waitFor(isEvent('message', (data) => data['text'] === 'three')))['seq'];
      expect(lastSeen).toBe(3);

      const exit = await first.stop(signal);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(await alice.closed).toEqual({ code: 1001, reason: 'server restarting' });
      const saved = JSON.parse(await readFile(dataFile, 'utf8')) as { topics: Record<string, { head: number }> };
      expect(saved.topics['room:general']?.head).toBe(3);

      const second = await launch({ dataFile, port: first.port });
      const back = await peer(second, 'alice');
      // The client's resume names the seq it saw: nothing was missed, nothing is replayed.
      back.send({ t: 'resume', streams: { 'room:general': lastSeen } });
      const joined = await back.request('join', { room: 'general' });
      expect((joined['data'] as { history: Array<{ text: string }> }).history.map((message) => message.text)).toEqual(['one', 'two', 'three']);
      await back.request('say', { room: 'general', id: 'id-four-0000', text: 'four' });
      const four = await back.waitFor(isEvent('message', (data) => data['text'] === 'four'));
      expect(four['seq']).toBe(4);
      expect(events(back, 'message')).toHaveLength(1);
      expect(back.frames.some((frame) => frame.t === 'resync')).toBe(false);
    });
  }

  it('a client whose seq the server cannot replay is told to resync', async () => {
    const first = await launch({ dataFile: join(dataDir, 'resync.json') });
    const alice = await peer(first, 'alice');
    alice.send({ t: 'resume', streams: { 'room:general': 999 } });
    await alice.request('join', { room: 'general' });
    await alice.waitFor((frame) => frame.t === 'resync' && frame['topic'] === 'room:general');
  });
});

describe('command line', { timeout: 30_000 }, () => {
  it('rejects a bad port with the usage text', async () => {
    await expect(launch({ args: ['--port', 'abc'] })).rejects.toThrow(/--port needs a port number[\s\S]*Usage: pnpm start/);
  });

  it('says so when the port is taken', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(launch({ port })).rejects.toThrow(new RegExp(`port ${port} is in use`));
    } finally {
      blocker.close();
    }
  });

  it('prints the URL when ready', async () => {
    const server = await launch({ dataFile: join(dataDir, 'url.json') });
    expect(server.output()).toMatch(new RegExp(`Switchyard chat listening on http://localhost:${server.port} \\(broker: memory`));
  });
});
