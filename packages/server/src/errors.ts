import { errorCloseCodes, ProtocolError, type ErrorCode } from '@tandem/protocol';
import type { Logger } from './ops/logger.js';

/**
 * The HTTP status of each coded error. The codes and their close codes are the protocol's
 * (`errorCloseCodes` in @tandem/protocol, which clients read too); the server adds how REST and the
 * HTTP transport answer with them, so REST and socket refusals agree on what went wrong.
 */
export const errorStatus = {
  unauthenticated: 401,
  forbidden: 403,
  origin_not_allowed: 403,
  auth_unavailable: 503,
  rate_limited: 429,
  too_many_connections: 429,
  room_full: 503,
  too_many_rooms: 503,
  too_many_rooms_per_address: 429,
  document_too_large: 413,
  read_only: 403,
  invalid_request: 400,
  room_not_found: 404,
  version_conflict: 409,
  idempotency_key_reused: 422,
  room_deleted: 410,
  events_expired: 410,
  invalid_room_name: 400,
  not_found: 404,
  protocol_error: 400,
  text_frame: 400,
  invalid_update: 400,
  invalid_awareness: 400,
  presence_too_large: 413,
  presence_full: 503,
  room_reset: 503,
  message_too_big: 413,
  too_many_pending_messages: 429,
  send_buffer_full: 503,
  resend_limit: 429,
  room_load_failed: 503,
  draining: 503,
  heartbeat_timeout: 408,
  session_closed: 410,
  update_rejected: 422,
  event_rejected: 422,
  extension_failed: 500,
  internal: 500,
} as const satisfies Record<ErrorCode, number>;

/** Each code's HTTP status and close code together. */
export const errorCodes = Object.fromEntries(
  (Object.keys(errorStatus) as ErrorCode[]).map((code) => [
    code,
    { status: errorStatus[code], close: errorCloseCodes[code] },
  ]),
) as { readonly [C in ErrorCode]: { status: (typeof errorStatus)[C]; close: (typeof errorCloseCodes)[C] } };

export type { ErrorCode };

export class TandemError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TandemError';
    this.code = code;
  }

  get status(): number {
    return errorStatus[this.code];
  }

  get closeCode(): number {
    return errorCloseCodes[this.code];
  }
}

/** Any thrown value as a TandemError; unexpected ones are logged and become `internal`. */
export function toTandemError(err: unknown, log: Logger): TandemError {
  if (err instanceof TandemError) return err;
  if (err instanceof ProtocolError) return new TandemError('protocol_error', `${err.code}: ${err.message}`);
  log.error({ err }, 'unexpected error');
  return new TandemError('internal', 'internal error');
}
