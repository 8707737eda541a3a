/**
 * The server side of the Switchyard envelope (`@switchyard/wire`) as the hub writes
 * it: JSON text, built by concatenation so a published payload is serialized once and never
 * parsed again on its way to subscribers.
 */
import type { GapFrame, PositionFrame, ResyncFrame, SkipFrame } from '@switchyard/wire';
import type { BrokerEntry, BrokerPosition } from './broker.js';

/** `{"t":"msg","type":…,"topic":…,"seq":…,"data":…}` — a `StampedEventFrame`. */
export function stampedFrameText(entry: BrokerEntry): string {
  let head = `{"t":"msg","type":${JSON.stringify(entry.type)},"topic":${JSON.stringify(entry.topic)},"seq":${entry.seq}`;
  if (entry.epoch !== undefined) head += `,"epoch":${JSON.stringify(entry.epoch)}`;
  if (entry.id !== undefined) head += `,"id":${JSON.stringify(entry.id)}`;
  return entry.data === undefined ? `${head}}` : `${head},"data":${entry.data}}`;
}

/** An unstamped event for one connection. */
export function eventFrameText(type: string, data: string | undefined): string {
  const head = `{"t":"msg","type":${JSON.stringify(type)}`;
  return data === undefined ? `${head}}` : `${head},"data":${data}}`;
}

export function gapFrameText(topic: string, from: number, to: number): string {
  const frame: GapFrame = { t: 'gap', topic, from, to };
  return JSON.stringify(frame);
}

/** Stands in for an entry published except this connection: the client advances past `seq`. */
export function skipFrameText(topic: string, seq: number, epoch?: string, id?: string): string {
  const frame: SkipFrame = { t: 'skip', topic, seq, ...(epoch === undefined ? {} : { epoch }), ...(id === undefined ? {} : { id }) };
  return JSON.stringify(frame);
}

/** The topic's position as a client should keep it (sent when a subscription starts and after a resync). */
export function positionFrameText(topic: string, position: BrokerPosition): string {
  const frame: PositionFrame = {
    t: 'pos',
    topic,
    seq: position.seq,
    ...(position.epoch === undefined ? {} : { epoch: position.epoch }),
    ...(position.id === undefined ? {} : { id: position.id }),
  };
  return JSON.stringify(frame);
}

export function resyncFrameText(topic: string): string {
  const frame: ResyncFrame = { t: 'resync', topic };
  return JSON.stringify(frame);
}

/**
 * JSON text of a payload, or `undefined` for "no payload". Throws a TypeError for values JSON
 * cannot carry (a BigInt, a cycle) so the publisher learns it before anything is numbered.
 */
export function serializePayload(data: unknown): string | undefined {
  if (data === undefined) return undefined;
  const text = JSON.stringify(data);
  if (text === undefined) throw new TypeError('the payload is not representable as JSON');
  return text;
}
