// The broker wrapper that keeps the in-memory broker's history across restarts.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHub, MemoryBroker } from '@switchyard/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, ChatProtocolShape } from '../src/protocol.js';
import { ChatBroker } from '../src/server/chat-broker.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chat-broker-'));
}, 30_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
}, 30_000);

const message = (id: string, text: string): ChatMessage => ({ id, room: 'general', from: 'alice', text, at: 1_700_000_000_000 });

async function open(file: string, errors: unknown[] = [], saveDelayMs = 1_000) {
  const broker = new ChatBroker(new MemoryBroker(), { file, saveDelayMs, onError: (error) => errors.push(error) });
  const hub = createHub<ChatProtocolShape>({ broker, history: { maxCount: 3, maxAgeMs: 60_000 } });
  await hub.ready;
  return { broker, hub };
}

describe('ChatBroker', { timeout: 20_000 }, () => {
  it('restores history and numbering after a restart', async () => {
    const file = join(dir, 'restart.json');
    const first = await open(file);
    for (const [i, text] of ['a', 'b', 'c', 'd'].entries()) {
      const published = await first.hub.publish('room:general', 'message', message(`id-${text}-0000`, text));
      expect(published.seq).toBe(i + 1);
    }
    await first.hub.publish('room:other', 'message', message('id-x-00000', 'x'));
    await first.hub.close();

    const second = await open(file);
    const kept = (await second.broker.history('room:general')).map((entry) => [entry.seq, (JSON.parse(entry.data!) as ChatMessage).text]);
    // Bounded like the hub's history (maxCount 3), numbered as before.
    expect(kept).toEqual([
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
    ]);
    expect((await second.hub.publish('room:general', 'message', message('id-e-0000', 'e'))).seq).toBe(5);
    expect((await second.hub.publish('room:other', 'message', message('id-y-0000', 'y'))).seq).toBe(2);
    await second.hub.close();
  });

  it('writes the file shortly after a publish, without waiting for a clean stop', async () => {
    const file = join(dir, 'soon.json');
    const { hub } = await open(file, [], 20);
    await hub.publish('room:general', 'message', message('id-soon-000', 'soon'));
    await expect.poll(async () => readFile(file, 'utf8').catch(() => ''), { timeout: 2_000 }).toContain('soon');
    await hub.close();
  });

  it('starts empty, and says why, when the file is unreadable', async () => {
    const file = join(dir, 'corrupt.json');
    await writeFile(file, '{ not json');
    const errors: unknown[] = [];
    const { broker, hub } = await open(file, errors);
    expect(await broker.history('room:general')).toEqual([]);
    expect(String(errors[0])).toMatch(/unreadable history file/);
    expect((await hub.publish('room:general', 'message', message('id-new-0000', 'new'))).seq).toBe(1);
    await hub.close();
  });

  it('skips malformed entries of a saved file', async () => {
    const file = join(dir, 'partial.json');
    const entry = (seq: unknown, data: unknown = JSON.stringify(message(`id-${String(seq)}-00000`, String(seq)))) => ({ seq, type: 'message', data, publishedAt: Date.now() });
    await writeFile(file, JSON.stringify({ version: 1, topics: { 'room:general': { head: 9, entries: [entry(5), entry('6'), entry(4), entry(7, 42), entry(8)] }, bad: 'nope' } }));
    const { broker, hub } = await open(file);
    expect((await broker.history('room:general')).map((saved) => saved.seq)).toEqual([5, 8]);
    expect((await hub.publish('room:general', 'message', message('id-ten-0000', 'ten'))).seq).toBe(10);
    await hub.close();
  });
});
