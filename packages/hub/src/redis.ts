export { RedisBroker } from './redis-broker.js';
export type { RedisBrokerOptions } from './redis-broker.js';
