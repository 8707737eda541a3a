// REDIS_URL switches the hub from the in-memory broker to Redis. Loaded only then, so a
// memory-broker run never loads the Redis client.
import type { Broker } from '@switchyard/hub';

export async function createRedisBroker(url: string): Promise<Broker> {
  const { RedisBroker } = await import('@switchyard/hub/redis');
  return new RedisBroker({ url, prefix: 'switchyard-chat:' });
}
