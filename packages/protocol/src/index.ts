export {
  AuthType,
  CloseCode,
  MessageType,
  SyncType,
  TANDEM_SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
} from './constants.js';
export { decodeMessage } from './decode.js';
export {
  closeAction,
  closeCodeForStatus,
  errorCloseCodes,
  isErrorCode,
  type CloseAction,
  type ErrorCode,
  type ReceivedErrorCode,
} from './error-codes.js';
export {
  encodeAck,
  encodeAuthDenied,
  encodeAwareness,
  encodeError,
  encodeEvent,
  encodeHello,
  encodePing,
  encodePong,
  encodePublish,
  encodePublished,
  encodeQueryAwareness,
  encodeStatus,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  encodeToken,
} from './encode.js';
export { jsonTextDepth, MAX_JSON_DEPTH, valueDepth } from './json-limits.js';
export { isValidRoomName, ROOM_NAME_RULE } from './room-name.js';
export { ProtocolError, type ProtocolErrorCode } from './errors.js';
export type { EventEnvelope, Hello, Message, PublishRequest, PublishResult, RoomStatus } from './messages.js';
export { FrameReader } from './reader.js';
