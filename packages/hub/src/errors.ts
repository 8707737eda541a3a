/**
 * Typed failures of the hub. Each carries a stable `code` so callers can branch without
 * matching on messages.
 */
export type HubErrorCode = 'broker-unavailable' | 'hub-closed' | 'invalid-topic';

export class HubError extends Error {
  readonly code: HubErrorCode;
  constructor(code: HubErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The broker could not take the operation (e.g. Redis is unreachable). A publish that fails
 * this way was not delivered to anyone; when the failure came after the command was sent
 * (`outcome: 'unknown'`) it may have been stored, so a retry may deliver it twice.
 */
export class BrokerUnavailableError extends HubError {
  readonly outcome: 'not-sent' | 'unknown';
  constructor(message: string, outcome: 'not-sent' | 'unknown', options?: { cause?: unknown }) {
    super('broker-unavailable', message, options);
    this.outcome = outcome;
  }
}

/** The hub was closed; it accepts no more work. */
export class HubClosedError extends HubError {
  constructor() {
    super('hub-closed', 'the hub is closed');
  }
}

/** A topic name must be a non-empty string of at most 256 UTF-16 code units. */
export class InvalidTopicError extends HubError {
  constructor(topic: unknown) {
    super('invalid-topic', `invalid topic name: ${JSON.stringify(String(topic)).slice(0, 80)}`);
  }
}

export const MAX_TOPIC_LENGTH = 256;

export function assertTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new InvalidTopicError(topic);
  }
}
