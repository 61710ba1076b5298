/** Top-level message types of the y-websocket protocol (y-protocols). */
export const MessageType = {
  sync: 0,
  awareness: 1,
  auth: 2,
  queryAwareness: 3,
  // Tandem extensions. Only sent to peers that opted in (subprotocol `tandem.v1` or a hello frame),
  // because stock y-websocket clients log an error for every unknown type.
  hello: 100,
  ack: 101,
  event: 102,
  error: 103,
  status: 104,
  /** Client → server: a fresh token for the live session, before the old one expires. */
  token: 105,
  /** Client → server: publish an app event (stored, fanned out like `POST …/events`). */
  publish: 106,
  /** Server → client: the outcome of one `publish`, matched by its `ref`. */
  published: 107,
  /** Client → server: are you there? Answered with `pong` (browsers cannot see WebSocket pings). */
  ping: 108,
  pong: 109,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Sub-types inside a sync message (y-protocols/sync). */
export const SyncType = {
  step1: 0,
  step2: 1,
  update: 2,
} as const;

/** Sub-type inside an auth message (y-protocols/auth). Only "permission denied" exists. */
export const AuthType = {
  permissionDenied: 0,
} as const;

/** WebSocket subprotocol a Tandem client offers to opt in to the extensions. */
export const TANDEM_SUBPROTOCOL = 'tandem.v1';
/**
 * Prefix of a `Sec-WebSocket-Protocol` entry that carries a token: browsers cannot set headers on a
 * WebSocket, and a token in the URL ends up in consoles, proxy logs and history.
 */
export const TOKEN_SUBPROTOCOL_PREFIX = 'tandem.token.';

/** Close codes. Every refusal carries one of these plus a human-readable reason. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  /** The Yjs or awareness payload does not parse (RFC 6455: data inconsistent with the message type). */
  invalidPayload: 1007,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  unauthenticated: 4401,
  forbidden: 4403,
  roomDeleted: 4410,
  rateLimited: 4429,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
