import { CloseCode } from './constants.js';

/**
 * Every coded refusal a Tandem server gives, with the WebSocket close code it closes with. The server
 * adds the HTTP status (REST answers, the HTTP transport); a client decides what to do from the close
 * code alone (`closeAction`), so a socket close, an SSE `close` event and a refused POST lead to the
 * same thing. docs/protocol.md's refusal table is held to this in both directions by a test.
 */
export const errorCloseCodes = {
  unauthenticated: CloseCode.unauthenticated,
  forbidden: CloseCode.forbidden,
  origin_not_allowed: CloseCode.policyViolation,
  auth_unavailable: CloseCode.tryAgainLater,
  rate_limited: CloseCode.rateLimited,
  too_many_connections: CloseCode.rateLimited,
  room_full: CloseCode.tryAgainLater,
  too_many_rooms: CloseCode.tryAgainLater,
  too_many_rooms_per_address: CloseCode.rateLimited,
  document_too_large: CloseCode.messageTooBig,
  read_only: CloseCode.forbidden,
  invalid_request: CloseCode.policyViolation,
  room_not_found: CloseCode.policyViolation,
  version_conflict: CloseCode.policyViolation,
  idempotency_key_reused: CloseCode.policyViolation,
  room_deleted: CloseCode.roomDeleted,
  events_expired: CloseCode.policyViolation,
  invalid_room_name: CloseCode.policyViolation,
  not_found: CloseCode.policyViolation,
  protocol_error: CloseCode.protocolError,
  text_frame: CloseCode.unsupportedData,
  invalid_update: CloseCode.invalidPayload,
  invalid_awareness: CloseCode.invalidPayload,
  presence_too_large: CloseCode.messageTooBig,
  /** Sent as an error frame only: the peer's presence was dropped, the connection stays. */
  presence_full: CloseCode.tryAgainLater,
  room_reset: CloseCode.tryAgainLater,
  message_too_big: CloseCode.messageTooBig,
  too_many_pending_messages: CloseCode.tryAgainLater,
  send_buffer_full: CloseCode.tryAgainLater,
  /** HTTP transport: the client asked for the same messages more often than a resume explains. */
  resend_limit: CloseCode.rateLimited,
  room_load_failed: CloseCode.tryAgainLater,
  draining: CloseCode.serviceRestart,
  heartbeat_timeout: CloseCode.goingAway,
  session_closed: CloseCode.normal,
  /** An extension refused a peer's update (schema validation…): the sender's copy differs now. */
  update_rejected: CloseCode.policyViolation,
  event_rejected: CloseCode.policyViolation,
  /** An extension hook threw something other than a TandemError (a bug in the hook). */
  extension_failed: CloseCode.internalError,
  internal: CloseCode.internalError,
} as const satisfies Record<string, CloseCode>;

/** A stable error code of the server: in error frames, REST error bodies and HTTP-transport refusals. */
export type ErrorCode = keyof typeof errorCloseCodes;

/**
 * An error code as a client receives it: one of ErrorCode from a server of this version, any string
 * from a newer one (treat an unknown code by its close code).
 */
export type ReceivedErrorCode = ErrorCode | (string & {});

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorCloseCodes, code);
}

/**
 * What a client does after a close:
 * - `retry`: reconnect with backoff;
 * - `retry-spread`: the server restarts or is overloaded: the first retry is spread over a window, so
 *   its clients do not all come back in the same second;
 * - `retry-slowly`: rate limited: wait much longer before trying again;
 * - `refresh-token`: get a fresh credential and try once more;
 * - `stop`: retrying would be refused again (no access, room gone) or would loop on the same data.
 */
export type CloseAction = 'retry' | 'retry-spread' | 'retry-slowly' | 'refresh-token' | 'stop';

const closeActions: Record<CloseCode, CloseAction> = {
  [CloseCode.normal]: 'retry',
  [CloseCode.goingAway]: 'retry',
  [CloseCode.protocolError]: 'stop',
  [CloseCode.unsupportedData]: 'stop',
  [CloseCode.invalidPayload]: 'stop',
  [CloseCode.policyViolation]: 'stop',
  [CloseCode.messageTooBig]: 'stop',
  [CloseCode.internalError]: 'retry',
  [CloseCode.serviceRestart]: 'retry-spread',
  [CloseCode.tryAgainLater]: 'retry-spread',
  [CloseCode.unauthenticated]: 'refresh-token',
  [CloseCode.forbidden]: 'stop',
  [CloseCode.roomDeleted]: 'stop',
  [CloseCode.rateLimited]: 'retry-slowly',
};

/** The action for a close code; codes not in the contract (1006, a proxy's) are retried. */
export function closeAction(closeCode: number): CloseAction {
  return (closeActions as Record<number, CloseAction>)[closeCode] ?? 'retry';
}

/**
 * The close code a refusal stands for when an HTTP answer has no Tandem error body (a proxy's page):
 * by the status alone. A Tandem server always sends `{error: {code, message, closeCode}}`.
 */
export function closeCodeForStatus(status: number): number {
  if (status === 401) return CloseCode.unauthenticated;
  if (status === 403) return CloseCode.forbidden;
  if (status === 429) return CloseCode.rateLimited;
  if (status === 410) return CloseCode.roomDeleted;
  if (status === 413) return CloseCode.messageTooBig;
  if (status >= 500) return CloseCode.tryAgainLater;
  return CloseCode.policyViolation;
}
