/** Stable codes for every way a frame can be rejected. */
export type ProtocolErrorCode =
  | 'truncated'
  | 'varint_overflow'
  | 'length_out_of_range'
  | 'unknown_message_type'
  | 'unknown_sync_type'
  | 'trailing_bytes'
  | 'invalid_payload';

/** Thrown by every decoder for malformed input; never a RangeError or a hang. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}
