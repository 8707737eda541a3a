import { describe, expectTypeOf, it } from 'vitest';
import { WebSocket as NodeWsWebSocket } from 'ws';
import { z } from 'zod';
import type { Client, ClientState, MessageMeta, SendResult, WebSocketConstructor } from '../src/index.js';
import { createClient, defineProtocol, RequestError } from '../src/index.js';
import type { ServerFrame } from '@switchyard/wire';
import { parseServerFrame } from '@switchyard/wire';
import type { Chat } from './helpers.js';

// These checks run under `tsc` (the package's typecheck covers test/): every
// `@ts-expect-error` below must be an error, or tsc fails on the unused directive.
// The runtime part only makes sure the file is collected.

describe('compile-time contract', () => {
  it('types send, on and request from the protocol', () => {
    const typed = (c: Client<Chat>) => {
      expectTypeOf(c.send('say', { text: 'hi' })).toEqualTypeOf<SendResult>();
      c.send('typing');
      // @ts-expect-error unknown message name
      c.send('shout', { text: 'hi' });
      // @ts-expect-error wrong payload
      c.send('say', { text: 42 });
      // @ts-expect-error missing payload
      c.send('say');
      // @ts-expect-error server events cannot be sent
      c.send('said', { from: 'a', text: 'b' });

      c.on('said', (data, meta) => {
        expectTypeOf(data).toEqualTypeOf<{ from: string; text: string }>();
        expectTypeOf(meta).toEqualTypeOf<MessageMeta>();
      });
      // @ts-expect-error client events cannot be listened to
      c.on('say', () => {});

      expectTypeOf(c.request('join', { room: 'a' })).toEqualTypeOf<Promise<{ members: string[] }>>();
      expectTypeOf(c.request('leave', { room: 'a' }, { idempotent: true, timeout: 5 })).toEqualTypeOf<Promise<undefined>>();
      // @ts-expect-error unknown request
      void c.request('kick', { room: 'a' });
      // @ts-expect-error wrong request payload
      void c.request('join', { room: 1 });
      // @ts-expect-error unknown option
      void c.request('join', { room: 'a' }, { retries: 3 });

      c.onEvent('state', (change) => expectTypeOf(change.state).toEqualTypeOf<ClientState>());
      c.onEvent('drop', (drop) => expectTypeOf(drop.reason).toEqualTypeOf<'queue-full' | 'expired' | 'closed'>());
      // @ts-expect-error unknown client event
      c.onEvent('message', () => {});
    };
    expectTypeOf(typed).toBeFunction();
    expectTypeOf<Client<Chat>['state']>().toEqualTypeOf<ClientState>();
  });

  it('checks validators against the protocol', () => {
    defineProtocol<Chat>({ server: { said: z.object({ from: z.string(), text: z.string() }) } });
    defineProtocol<Chat>({ replies: { join: z.object({ members: z.array(z.string()) }) } });
    // @ts-expect-error the schema's output does not match the event's type
    defineProtocol<Chat>({ server: { said: z.object({ from: z.number(), text: z.string() }) } });
    // @ts-expect-error no such server event
    defineProtocol<Chat>({ server: { shout: (data: unknown) => typeof data === 'string' } });
  });

  it('a protocol without requests has no request names', () => {
    const onlyEvents = defineProtocol<{ server: { tick: number } }>();
    const make = () => createClient(onlyEvents, { url: 'ws://x/' });
    type Events = ReturnType<typeof make>;
    expectTypeOf<Parameters<Events['request']>[0]>().toEqualTypeOf<never>();
    expectTypeOf<Parameters<Events['send']>[0]>().toEqualTypeOf<never>();
    expectTypeOf<Parameters<Parameters<Events['on']>[1]>[0]>().toEqualTypeOf<number>();
  });

  it('accepts the WebSocket constructors people use', () => {
    const constructors: WebSocketConstructor[] = [globalThis.WebSocket, NodeWsWebSocket];
    expectTypeOf(constructors).toEqualTypeOf<WebSocketConstructor[]>();
    // @ts-expect-error a constructor whose sockets lack `send` is refused
    const incomplete: WebSocketConstructor = class {
      readyState = 0;
      binaryType = 'blob';
      onopen = null;
      onmessage = null;
      onclose = null;
      onerror = null;
      close(): void {}
    };
    expectTypeOf(incomplete).not.toBeAny();
  });

  it('gives typed errors and frames', () => {
    expectTypeOf<RequestError['code']>().toEqualTypeOf<'timeout' | 'disconnected' | 'closed' | 'dropped' | 'remote' | 'invalid-reply'>();
    const parsed = parseServerFrame(JSON.parse('{"t":"gap","topic":"a","from":1,"to":2}'));
    if (parsed.ok) expectTypeOf(parsed.frame).toEqualTypeOf<ServerFrame>();
  });
});
