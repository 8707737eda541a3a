import { defineProtocol } from '@switchyard/client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createHub, type PresenceMember, type Published } from '../src/index.js';
import { TestPeer } from './support/test-peer.js';

interface Shop {
  client: { browse: { page: number } };
  server: { price: { sku: string; cents: number }; closed: undefined };
}
const shop = defineProtocol<Shop>();

describe('types shared with @switchyard/client', () => {
  it('checks event types, payloads and topic names at compile time', async () => {
    const hub = createHub<Shop, { user: string }, `sku:${string}` | 'announcements'>({ protocol: shop });
    const peer = new TestPeer();
    await hub.subscribe(peer, 'sku:42');
    const published = await hub.publish('sku:42', 'price', { sku: '42', cents: 1999 });
    expectTypeOf(published).toEqualTypeOf<Published>();
    await hub.publish('announcements', 'closed', undefined);
    // @ts-expect-error unknown event type
    await hub.publish('sku:42', 'discount', 5).catch(() => undefined);
    // @ts-expect-error wrong payload shape
    await hub.publish('sku:42', 'price', { sku: 42 }).catch(() => undefined);
    // @ts-expect-error topic outside the declared names
    await hub.subscribe(peer, 'orders').catch(() => undefined);
    // @ts-expect-error presence metadata is typed
    await hub.presence.join(peer, 'announcements', { name: 'x' }).catch(() => undefined);
    expectTypeOf(hub.presence.list).returns.resolves.toEqualTypeOf<ReadonlyArray<PresenceMember<{ user: string }>>>();
    expect(peer.seqs('sku:42')).toEqual([1, 2, 3]);
    await hub.close();
  });

  it('infers the protocol from the `protocol` option', async () => {
    const hub = createHub({ protocol: shop });
    const peer = new TestPeer();
    await hub.subscribe(peer, 'any');
    await hub.publish('any', 'price', { sku: 'a', cents: 1 });
    // @ts-expect-error the protocol is inferred: 'nope' is not a server event
    await hub.publish('any', 'nope', 1).catch(() => undefined);
    expect(peer.seqs('any')).toEqual([1, 2]);
    await hub.close();
  });
});
