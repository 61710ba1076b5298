import { CloseCode, ProtocolError } from '@tandem/protocol';
import type { Logger } from './ops/logger.js';

/**
 * The one registry of coded errors. Each code maps once to an HTTP status and a WebSocket close
 * code, so REST and socket refusals agree on what went wrong.
 */
export const errorCodes = {
  unauthenticated: { status: 401, close: CloseCode.unauthenticated },
  forbidden: { status: 403, close: CloseCode.forbidden },
  origin_not_allowed: { status: 403, close: CloseCode.policyViolation },
  auth_unavailable: { status: 503, close: CloseCode.tryAgainLater },
  rate_limited: { status: 429, close: CloseCode.rateLimited },
  too_many_connections: { status: 429, close: CloseCode.rateLimited },
  room_full: { status: 503, close: CloseCode.tryAgainLater },
  too_many_rooms: { status: 503, close: CloseCode.tryAgainLater },
  too_many_rooms_per_address: { status: 429, close: CloseCode.rateLimited },
  document_too_large: { status: 413, close: CloseCode.messageTooBig },
  read_only: { status: 403, close: CloseCode.forbidden },
  invalid_request: { status: 400, close: CloseCode.policyViolation },
  room_not_found: { status: 404, close: CloseCode.policyViolation },
  version_conflict: { status: 409, close: CloseCode.policyViolation },
  idempotency_key_reused: { status: 422, close: CloseCode.policyViolation },
  room_deleted: { status: 410, close: 4410 },
  events_expired: { status: 410, close: CloseCode.policyViolation },
  invalid_room_name: { status: 400, close: CloseCode.policyViolation },
  not_found: { status: 404, close: CloseCode.policyViolation },
  protocol_error: { status: 400, close: CloseCode.protocolError },
  text_frame: { status: 400, close: CloseCode.unsupportedData },
  invalid_update: { status: 400, close: 1007 },
  invalid_awareness: { status: 400, close: 1007 },
  presence_too_large: { status: 413, close: CloseCode.messageTooBig },
  /** Sent as an error frame only: the peer's presence was dropped, the connection stays. */
  presence_full: { status: 503, close: CloseCode.tryAgainLater },
  room_reset: { status: 503, close: CloseCode.tryAgainLater },
  message_too_big: { status: 413, close: CloseCode.messageTooBig },
  too_many_pending_messages: { status: 429, close: CloseCode.tryAgainLater },
  send_buffer_full: { status: 503, close: CloseCode.tryAgainLater },
  /** HTTP transport: the client asked for the same messages more often than a resume explains. */
  resend_limit: { status: 429, close: CloseCode.rateLimited },
  room_load_failed: { status: 503, close: CloseCode.tryAgainLater },
  draining: { status: 503, close: CloseCode.serviceRestart },
  heartbeat_timeout: { status: 408, close: CloseCode.goingAway },
  session_closed: { status: 410, close: CloseCode.normal },
  /** An extension refused a peer's update (schema validation…): the sender's copy differs now. */
  update_rejected: { status: 422, close: CloseCode.policyViolation },
  event_rejected: { status: 422, close: CloseCode.policyViolation },
  /** An extension hook threw something other than a TandemError (a bug in the hook). */
  extension_failed: { status: 500, close: CloseCode.internalError },
  internal: { status: 500, close: CloseCode.internalError },
} as const satisfies Record<string, { status: number; close: number }>;

export type ErrorCode = keyof typeof errorCodes;

export class TandemError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TandemError';
    this.code = code;
  }

  get status(): number {
    return errorCodes[this.code].status;
  }

  get closeCode(): number {
    return errorCodes[this.code].close;
  }
}

/** Any thrown value as a TandemError; unexpected ones are logged and become `internal`. */
export function toTandemError(err: unknown, log: Logger): TandemError {
  if (err instanceof TandemError) return err;
  if (err instanceof ProtocolError) return new TandemError('protocol_error', `${err.code}: ${err.message}`);
  log.error({ err }, 'unexpected error');
  return new TandemError('internal', 'internal error');
}
