import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createClient } from '../src/client.js';
import { settle } from './fake-socket.js';
import { chat, connected, setup } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-21T12:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('state machine', () => {
  it('goes idle → connecting → open and reports each change', async () => {
    const { client, fake, states } = await setup();
    expect(client.state).toBe('connecting');
    expect(fake.last.url).toBe('ws://switchyard.test/');
    expect(fake.last.binaryType).toBe('arraybuffer');
    fake.last.open();
    expect(client.state).toBe('open');
    expect(states.map((s) => [s.previous, s.state, s.reason, s.attempt])).toEqual([
      ['idle', 'connecting', 'connect', 1],
      ['connecting', 'open', 'open', 1],
    ]);
  });

  it('stays idle without autoConnect until connect()', async () => {
    const { client, fake } = await setup({ autoConnect: false });
    expect(client.state).toBe('idle');
    expect(fake.sockets).toHaveLength(0);
    client.connect();
    await settle();
    expect(fake.sockets).toHaveLength(1);
  });

  it('reports the close code, the delay and the time of the next attempt when a socket drops', async () => {
    const { client, fake, states } = await setup();
    fake.last.open();
    fake.last.drop(1012, 'restart');
    expect(client.state).toBe('reconnecting');
    const change = states.at(-1)!;
    expect(change).toMatchObject({ state: 'reconnecting', reason: 'socket-closed', code: 1012, closeReason: 'restart', attempt: 2 });
    // random() = 0.5, first retry bound = initialDelay (1000 ms)
    expect(change.delay).toBe(500);
    expect(change.nextRetryAt).toBe(Date.now() + 500);
    await vi.advanceTimersByTimeAsync(499);
    expect(fake.sockets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.sockets).toHaveLength(2);
    expect(client.state).toBe('connecting');
    expect(states.at(-1)).toMatchObject({ reason: 'retry', attempt: 2 });
  });

  it('calls an async URL provider before every connect', async () => {
    let token = 0;
    const url = vi.fn(async () => `ws://switchyard.test/?token=t${++token}`);
    const { fake } = await setup({ url });
    fake.last.open();
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(url).toHaveBeenCalledTimes(2);
    expect(fake.sockets.map((s) => s.url)).toEqual(['ws://switchyard.test/?token=t1', 'ws://switchyard.test/?token=t2']);
  });

  it('treats a failing URL provider as a failed attempt and retries', async () => {
    const error = new Error('token service down');
    let calls = 0;
    const { client, fake, states } = await setup({
      url: () => {
        if (++calls === 1) throw error;
        return 'ws://switchyard.test/';
      },
    });
    expect(fake.sockets).toHaveLength(0);
    expect(client.state).toBe('reconnecting');
    expect(states.at(-1)).toMatchObject({ reason: 'connect-error', error });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fake.sockets).toHaveLength(1);
  });

  it('gives up on a socket that does not open within connectTimeout', async () => {
    const { client, fake, states } = await setup({ connectTimeout: 3_000 });
    const first = fake.last;
    await vi.advanceTimersByTimeAsync(2_999);
    expect(client.state).toBe('connecting');
    await vi.advanceTimersByTimeAsync(1);
    expect(client.state).toBe('reconnecting');
    expect(states.at(-1)?.reason).toBe('connect-timeout');
    expect(first.closedByClient).toBeDefined();
    // A late open of the abandoned socket changes nothing.
    first.open();
    expect(client.state).toBe('reconnecting');
  });

  it('counts the provider in the connect timeout', async () => {
    const { client, states } = await setup({ connectTimeout: 2_000, url: () => new Promise<string>(() => {}) });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(client.state).toBe('reconnecting');
    expect(states.at(-1)?.reason).toBe('connect-timeout');
  });

  it('retries when the WebSocket constructor throws', async () => {
    let throwing = true;
    const { client, fake } = await setup();
    const Real = fake.WebSocket;
    const client2 = createClient(chat, {
      url: 'ws://switchyard.test/',
      window: null,
      random: () => 0.5,
      WebSocket: class extends Real {
        constructor(url: string) {
          if (throwing) throw new SyntaxError('bad url');
          super(url);
        }
      },
    });
    await settle();
    expect(client2.state).toBe('reconnecting');
    throwing = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(client2.state).toBe('connecting');
    client.close();
    client2.close();
  });

  it('does not reconnect after the app closes, and closes the socket with the app code', async () => {
    const { client, fake, states } = await connected();
    const socket = fake.last;
    client.close(4000, 'bye');
    expect(client.state).toBe('closed');
    expect(socket.closedByClient).toEqual({ code: 4000, reason: 'bye' });
    expect(states.at(-1)).toMatchObject({ state: 'closed', reason: 'app-close', code: 4000 });
    socket.drop(4000, 'bye');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fake.sockets).toHaveLength(1);
    expect(client.state).toBe('closed');
  });

  it('rejects close codes a browser would refuse', async () => {
    const { client } = await connected();
    expect(() => client.close(1006)).toThrow(RangeError);
    expect(client.state).toBe('open');
  });

  it('can connect again after close()', async () => {
    const { client, fake } = await connected();
    client.close();
    client.connect();
    await settle();
    fake.last.open();
    expect(client.state).toBe('open');
    expect(fake.sockets).toHaveLength(2);
  });

  it('close() before the deferred auto-connect keeps it closed', async () => {
    const { WebSocket, sockets } = (await import('./fake-socket.js')).fakeWebSocket();
    const client = createClient(chat, { url: 'ws://switchyard.test/', WebSocket, window: null });
    client.close();
    await settle();
    expect(client.state).toBe('closed');
    expect(sockets).toHaveLength(0);
  });
});

describe('fatal close codes', () => {
  it('stops on an auth failure code and calls onAuthFailure', async () => {
    const onAuthFailure = vi.fn();
    const { client, fake, states } = await connected({ onAuthFailure });
    fake.last.drop(4001, 'token expired');
    expect(client.state).toBe('closed');
    expect(states.at(-1)).toMatchObject({ reason: 'fatal-code', code: 4001 });
    expect(onAuthFailure).toHaveBeenCalledWith({ code: 4001, reason: 'token expired' });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fake.sockets).toHaveLength(1);
  });

  it('lets onAuthFailure reconnect with fresh credentials', async () => {
    let token = 'old';
    const { client, fake } = await setup({
      url: () => `ws://switchyard.test/?token=${token}`,
      onAuthFailure: () => {
        token = 'new';
        client.connect();
      },
    });
    fake.last.open();
    fake.last.drop(4003);
    await settle();
    expect(client.state).toBe('connecting');
    expect(fake.last.url).toBe('ws://switchyard.test/?token=new');
  });

  it('stops on an app-defined fatal code without calling onAuthFailure', async () => {
    const onAuthFailure = vi.fn();
    const { client, fake } = await connected({ fatalCloseCodes: [4404], onAuthFailure });
    fake.last.drop(4404);
    expect(client.state).toBe('closed');
    expect(onAuthFailure).not.toHaveBeenCalled();
  });

  it('reconnects on ordinary codes', async () => {
    for (const code of [1000, 1001, 1006, 1011, 1012, 4000]) {
      const { client, fake } = await connected();
      fake.last.drop(code);
      expect(client.state).toBe('reconnecting');
    }
  });
});

describe('backoff and the reset rule', () => {
  it('grows the delay bound per failed attempt up to maxDelay, then gives up after maxAttempts', async () => {
    const { client, fake, states } = await setup({ random: () => 0.999_999, initialDelay: 100, backoffFactor: 3, maxDelay: 2_000, maxAttempts: 6 });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      fake.last.drop();
      const change = states.at(-1)!;
      if (change.state === 'reconnecting') {
        delays.push(change.delay!);
        await vi.advanceTimersByTimeAsync(change.delay!);
      }
    }
    // bounds 100, 300, 900, 2000 (capped), 2000; the 6th failure hits maxAttempts
    expect(delays).toEqual([99, 299, 899, 1_999, 1_999]);
    expect(client.state).toBe('closed');
    expect(states.at(-1)).toMatchObject({ reason: 'max-attempts', attempt: 6 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.sockets).toHaveLength(6);
  });

  it('draws a fresh random delay for every attempt (full jitter)', async () => {
    const draws = [0.1, 0.9, 0.3];
    const { fake, states } = await setup({ random: () => draws.shift() ?? 0, initialDelay: 1_000, backoffFactor: 2 });
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.drop();
    const delays = states.filter((s) => s.state === 'reconnecting').map((s) => s.delay);
    expect(delays).toEqual([100, 1_800, 1_200]);
  });

  it('keeps counting attempts when connections close before minOpenTime', async () => {
    const { fake, states } = await setup({ minOpenTime: 5_000 });
    for (let i = 0; i < 3; i++) {
      fake.last.open();
      await vi.advanceTimersByTimeAsync(4_999);
      fake.last.drop();
      await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    }
    expect(states.filter((s) => s.state === 'reconnecting').map((s) => s.attempt)).toEqual([2, 3, 4]);
  });

  it('resets the attempt count once a connection stayed open minOpenTime', async () => {
    const { fake, states } = await setup({ minOpenTime: 5_000, random: () => 0.999_999, initialDelay: 1_000 });
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.drop();
    await vi.advanceTimersByTimeAsync(states.at(-1)!.delay!);
    fake.last.open();
    await vi.advanceTimersByTimeAsync(5_000);
    fake.last.drop();
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', attempt: 1, delay: 999 });
  });
});

describe('online and offline', () => {
  it('retries at once when the browser comes back online', async () => {
    const window = new EventTarget();
    const { client, fake } = await setup({ window, initialDelay: 60_000, heartbeatInterval: 0 });
    fake.last.drop();
    expect(client.state).toBe('reconnecting');
    window.dispatchEvent(new Event('online'));
    await settle();
    expect(client.state).toBe('connecting');
    expect(fake.sockets).toHaveLength(2);
    // The cancelled timer does not start a third attempt.
    fake.last.open();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.sockets).toHaveLength(2);
  });

  it('probes an open socket with a heartbeat when the network changes', async () => {
    const window = new EventTarget();
    const { client, fake, states } = await connected({ window, heartbeatInterval: 30_000, heartbeatTimeout: 2_000 });
    window.dispatchEvent(new Event('offline'));
    expect(fake.last.frames()).toEqual([{ t: 'ping', ts: Date.now() }]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(client.state).toBe('reconnecting');
    expect(states.at(-1)?.reason).toBe('heartbeat-timeout');
  });

  it('stops listening to the window once closed', async () => {
    const window = new EventTarget();
    const add = vi.spyOn(window, 'addEventListener');
    const remove = vi.spyOn(window, 'removeEventListener');
    const { client } = await connected({ window });
    client.close();
    expect(add.mock.calls.map((c) => c[0]).sort()).toEqual(['offline', 'online']);
    expect(remove.mock.calls.map((c) => [c[0], c[1]])).toEqual(add.mock.calls.map((c) => [c[0], c[1]]));
  });
});

describe('heartbeat', () => {
  it('pings every interval while pongs come back', async () => {
    const { client, fake } = await connected({ heartbeatInterval: 10_000, heartbeatTimeout: 3_000 });
    const socket = fake.last;
    for (let i = 1; i <= 3; i++) {
      await vi.advanceTimersByTimeAsync(10_000);
      expect(socket.frames()).toHaveLength(i);
      const ping = socket.frames().at(-1) as { t: string; ts: number };
      expect(ping).toEqual({ t: 'ping', ts: Date.now() });
      await vi.advanceTimersByTimeAsync(1_000);
      socket.receive({ t: 'pong', ts: ping.ts });
    }
    expect(client.state).toBe('open');
  });

  it('reconnects when no reply comes within the timeout, without waiting for the socket to close', async () => {
    const { client, fake, states } = await connected({ heartbeatInterval: 10_000, heartbeatTimeout: 3_000 });
    const socket = fake.last;
    await vi.advanceTimersByTimeAsync(12_999);
    expect(client.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(client.state).toBe('reconnecting');
    expect(states.at(-1)?.reason).toBe('heartbeat-timeout');
    expect(socket.closedByClient).toEqual({ code: 4000, reason: undefined });
  });

  it('counts any incoming message as a reply', async () => {
    const { client, fake } = await connected({ heartbeatInterval: 10_000, heartbeatTimeout: 3_000 });
    await vi.advanceTimersByTimeAsync(12_000);
    fake.last.receive({ t: 'msg', type: 'said', data: { from: 'a', text: 'b' } });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(client.state).toBe('open');
  });

  it('answers the server’s pings', async () => {
    const { fake } = await connected({ heartbeatInterval: 0 });
    fake.last.receive({ t: 'ping', ts: 42 });
    expect(fake.last.frames()).toEqual([{ t: 'pong', ts: 42 }]);
  });

  it('sends nothing when heartbeats are off', async () => {
    const { client, fake } = await connected({ heartbeatInterval: 0 });
    await vi.advanceTimersByTimeAsync(600_000);
    expect(fake.last.sent).toHaveLength(0);
    expect(client.state).toBe('open');
  });
});
