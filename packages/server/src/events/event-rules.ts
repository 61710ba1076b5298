import { TandemError } from '../errors.js';

/** App event types: 1-64 characters of letters, digits, `_ . : -`, starting with a letter or digit. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9][\w.:-]{0,63}$/;
export const EVENT_TYPE_RULE = 'event types are 1-64 chars of letters, digits, _ . : -';
/** `collab.*` events are the server's own. */
export const RESERVED_EVENT_PREFIX = 'collab.';
export const MAX_EVENT_DATA_BYTES = 64 * 1024;

/** Checks an app event as published over REST or a socket; throws the same coded errors for both. */
export function checkAppEvent(type: string, data: unknown): void {
  if (!EVENT_TYPE_PATTERN.test(type)) throw new TandemError('invalid_request', EVENT_TYPE_RULE);
  if (type.startsWith(RESERVED_EVENT_PREFIX)) {
    throw new TandemError('invalid_request', 'the collab. prefix is reserved for server events');
  }
  checkEventData(data);
}

export function checkEventData(data: unknown): void {
  if (Buffer.byteLength(JSON.stringify(data ?? null)) > MAX_EVENT_DATA_BYTES) {
    throw new TandemError('message_too_big', `event data is limited to ${MAX_EVENT_DATA_BYTES} bytes of JSON`);
  }
}
