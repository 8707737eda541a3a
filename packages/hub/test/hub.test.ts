import { describe, expect, it } from 'vitest';
import type { ProtocolShape } from '@switchyard/client';
import { createHub, HubClosedError, InvalidTopicError, MemoryBroker } from '../src/index.js';
import { settle, TestPeer } from './support/test-peer.js';

interface Chat extends ProtocolShape {
  server: { line: { from: string; text: string }; note: string; ping: undefined };
}

describe('topics', () => {
  it('delivers a publish to every subscriber, stamped with topic and seq, in order', async () => {
    const hub = createHub<Chat>();
    const [a, b, c] = [new TestPeer(), new TestPeer(), new TestPeer()];
    await hub.subscribe(a, 'room');
    await hub.subscribe(b, 'room');
    await hub.subscribe(c, 'other');
    for (let i = 1; i <= 3; i++) await hub.publish('room', 'line', { from: 'x', text: `hi ${i}` });
    expect(a.frames).toEqual([1, 2, 3].map((seq) => ({ t: 'msg', type: 'line', topic: 'room', seq, data: { from: 'x', text: `hi ${seq}` } })));
    expect(b.frames).toEqual(a.frames);
    expect(c.frames).toEqual([]);
    await hub.close();
  });

  it('encodes a broadcast once: every subscriber is handed the same prepared frame', async () => {
    const hub = createHub<Chat>();
    const peers = Array.from({ length: 50 }, () => new TestPeer());
    for (const peer of peers) await hub.subscribe(peer, 'room');
    await hub.publish('room', 'note', 'one frame');
    const first = peers[0]!.prepared[0];
    expect(first).toBeDefined();
    for (const peer of peers) expect(peer.prepared).toEqual([first]);
    for (const peer of peers) expect(peer.prepared[0]).toBe(first);
    await hub.close();
  });

  it('publishes to a topic except the sender (who gets a skip in its place), and to one connection', async () => {
    const hub = createHub<Chat>();
    const [sender, other] = [new TestPeer(), new TestPeer()];
    await hub.subscribe(sender, 'room');
    await hub.subscribe(other, 'room');
    const published = await hub.publish('room', 'note', 'not to me', { except: sender });
    expect(published).toEqual({ topic: 'room', seq: 1 });
    expect(sender.frames).toEqual([{ t: 'skip', topic: 'room', seq: 1 }]);
    expect(sender.seqs('room')).toEqual([]);
    expect(other.frames).toEqual([{ t: 'msg', type: 'note', topic: 'room', seq: 1, data: 'not to me' }]);
    expect(hub.send(sender, 'note', 'just you')).toMatchObject({ status: 'written' });
    expect(hub.send(sender, 'ping', undefined)).toMatchObject({ status: 'written' });
    expect(sender.frames.slice(1)).toEqual([{ t: 'msg', type: 'note', data: 'just you' }, { t: 'msg', type: 'ping' }]);
    expect(other.frames).toHaveLength(1);
    await hub.close();
  });

  it('puts the sender’s skip exactly where its message stands in the topic’s order', async () => {
    const hub = createHub<Chat>();
    const [sender, other, bystander] = [new TestPeer(), new TestPeer(), new TestPeer()];
    await hub.subscribe(sender, 'room');
    await hub.subscribe(other, 'room');
    await hub.subscribe(bystander, 'elsewhere');
    await hub.publish('room', 'note', 'one');
    await hub.publish('room', 'note', 'two', { except: sender });
    await hub.publish('room', 'note', 'three', { except: other });
    // Published together: one broker order, and each connection's frames follow it.
    await Promise.all([
      hub.publish('room', 'note', 'four', { except: sender }),
      hub.publish('room', 'note', 'five'),
      hub.publish('room', 'note', 'six', { except: sender }),
    ]);
    // A connection that is not subscribed to the topic is sent nothing, not even a skip.
    await hub.publish('room', 'note', 'seven', { except: bystander });
    const marks = (peer: TestPeer): string[] => peer.frames.map((f) => (f.t === 'msg' ? `msg ${f.seq}` : f.t === 'skip' ? `skip ${f.seq}` : f.t));
    expect(marks(sender)).toEqual(['msg 1', 'skip 2', 'msg 3', 'skip 4', 'msg 5', 'skip 6', 'msg 7']);
    expect(marks(other)).toEqual(['msg 1', 'msg 2', 'skip 3', 'msg 4', 'msg 5', 'msg 6', 'msg 7']);
    expect(bystander.frames).toEqual([]);
    await hub.close();
  });

  it('replays a skip to the same connection, but the message itself to a new connection resuming', async () => {
    const hub = createHub<Chat>();
    const sender = new TestPeer();
    await hub.subscribe(sender, 'room');
    await hub.publish('room', 'note', 'mine', { except: sender });
    await hub.publish('room', 'note', 'theirs');
    // The same connection, subscribing again from seq 0: the history knows it was the sender.
    hub.unsubscribe(sender, 'room');
    await hub.subscribe(sender, 'room', { after: 0 });
    expect(sender.frames.slice(2)).toEqual([
      { t: 'skip', topic: 'room', seq: 1 },
      { t: 'msg', type: 'note', topic: 'room', seq: 2, data: 'theirs' },
    ]);
    // The sender's client after a reconnect: a new connection, unknown to the history, so
    // its own message is replayed to it as an ordinary one.
    const reconnected = new TestPeer();
    expect(hub.handle(reconnected, { t: 'resume', streams: { room: 0 } })).toBe(true);
    await settle();
    expect(reconnected.frames).toEqual([
      { t: 'msg', type: 'note', topic: 'room', seq: 1, data: 'mine' },
      { t: 'msg', type: 'note', topic: 'room', seq: 2, data: 'theirs' },
    ]);
    await hub.close();
  });

  it('holds a skip to the slow-consumer bound like a message: a stalled sender is told the seq is lost instead', async () => {
    const hub = createHub<Chat>({ slowConsumer: { maxBufferedBytes: 100, gapRetryMs: 10_000 } });
    const sender = new TestPeer();
    await hub.subscribe(sender, 'room');
    // The subscription's `pos` frame went out while the connection was still reading.
    sender.stalled = true;
    await hub.publish('room', 'note', 'x'.repeat(200));
    await hub.publish('room', 'note', 'mine', { except: sender });
    expect(sender.seqs('room')).toEqual([1]);
    expect(sender.frames).toHaveLength(1);
    sender.drain();
    await hub.publish('room', 'note', 'mine again', { except: sender });
    expect(sender.frames.slice(1)).toEqual([
      { t: 'gap', topic: 'room', from: 2, to: 2 },
      { t: 'skip', topic: 'room', seq: 3 },
    ]);
    await hub.close();
  });

  it('stops delivering after unsubscribe and cleans everything up when the connection closes', async () => {
    const broker = new MemoryBroker();
    const hub = createHub<Chat, { name: string }>({ broker });
    const peer = new TestPeer();
    await hub.subscribe(peer, 'a');
    await hub.subscribe(peer, 'b');
    await hub.presence.join(peer, 'a', { name: 'ann' });
    expect(hub.topicsOf(peer).sort()).toEqual(['a', 'b']);
    hub.unsubscribe(peer, 'a');
    await hub.publish('a', 'note', 'gone');
    await hub.publish('b', 'note', 'here');
    expect(peer.seqs('a')).toEqual([]);
    expect(peer.seqs('b')).toEqual([1]);
    peer.close(1000, 'bye');
    await settle();
    expect(hub.topicsOf(peer)).toEqual([]);
    expect(hub.localSubscriberCount('b')).toBe(0);
    expect(await hub.presence.list('a')).toEqual([]);
    await hub.publish('b', 'note', 'after close');
    expect(peer.seqs('b')).toEqual([1]);
    await hub.close();
  });

  it('rejects bad topics, unserializable payloads and use after close with typed errors', async () => {
    const hub = createHub();
    const peer = new TestPeer();
    await expect(hub.subscribe(peer, '')).rejects.toBeInstanceOf(InvalidTopicError);
    await expect(hub.publish('x'.repeat(257), 'e', 1)).rejects.toBeInstanceOf(InvalidTopicError);
    await expect(hub.publish('t', 'e', 10n)).rejects.toBeInstanceOf(TypeError);
    await hub.close();
    await expect(hub.publish('t', 'e', 1)).rejects.toBeInstanceOf(HubClosedError);
    await expect(hub.subscribe(peer, 't')).rejects.toMatchObject({ code: 'hub-closed' });
  });

  it('validates its options', () => {
    expect(() => createHub({ history: { maxCount: -1 } })).toThrow(RangeError);
    expect(() => createHub({ slowConsumer: { policy: 'ignore' as never } })).toThrow(RangeError);
    expect(() => createHub({ nodeId: 'has space' })).toThrow(RangeError);
  });
});

describe('handle', () => {
  it('takes resume messages (text or decoded) and leaves everything else to the app', async () => {
    const hub = createHub();
    const peer = new TestPeer();
    expect(hub.handle(peer, '{"t":"msg","type":"chat","data":"hi"}')).toBe(false);
    expect(hub.handle(peer, '{"t":"resume"')).toBe(false);
    expect(hub.handle(peer, '{"t":"resume","streams":{"a":"x"}}')).toBe(false);
    expect(hub.handle(peer, { t: 'req', id: 1, type: 'resume' })).toBe(false);
    expect(hub.handle(peer, '{"t":"resume","streams":{"a":0}}')).toBe(true);
    expect(hub.handle(peer, { t: 'resume', streams: { b: 0 } })).toBe(true);
    await settle();
    expect(hub.topicsOf(peer).sort()).toEqual(['a', 'b']);
    await hub.close();
  });

  it('keeps refused resume topics as resume points for a later subscribe', async () => {
    const hub = createHub({ canResume: (_peer, topic) => topic !== 'private' });
    const old = new TestPeer();
    await hub.subscribe(old, 'private');
    for (let i = 0; i < 4; i++) await hub.publish('private', 'e', i);
    const peer = new TestPeer();
    hub.handle(peer, { t: 'resume', streams: { private: 2 } });
    await settle();
    expect(hub.topicsOf(peer)).toEqual([]);
    await hub.subscribe(peer, 'private');
    await settle();
    expect(peer.seqs('private')).toEqual([3, 4]);
    await hub.close();
  });
});
