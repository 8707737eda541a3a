export { createHub } from './hub.js';
export type { HistoryMessage, HistoryResult, Hub, HubEvents, HubPresence, PublishOptions, Published, SubscribeOptions, SubscribePosition } from './hub.js';
export { DEFAULTS as HUB_DEFAULTS } from './options.js';
export type { HubOptions, SlowConsumerOptions, UntypedProtocol } from './options.js';
export { MemoryBroker } from './memory-broker.js';
export type { MemoryBrokerOptions } from './memory-broker.js';
export type {
  Broker,
  BrokerContext,
  BrokerEntry,
  BrokerPosition,
  BrokerSession,
  BrokerStatus,
  HistoryOptions,
  HistoryRead,
  PresenceChange,
  PresenceLeaveReason,
  PresenceMember,
  PublishRequest,
} from './broker.js';
export { classifyRead, newEpoch, retainedSuffix, TopicHistory, verifyPosition } from './history.js';
export { BrokerUnavailableError, HubClosedError, HubError, InvalidTopicError, MAX_TOPIC_LENGTH } from './errors.js';
export type { HubErrorCode } from './errors.js';
export type { SlowConsumerPolicy } from './subscription.js';
