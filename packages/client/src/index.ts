export {
  defaultFallbackOptions,
  TandemProvider,
  type ConnectionStatus,
  type FallbackOptions,
  type Transport,
  type ClientErrorCode,
  type Diagnostics,
  type ProviderError,
  type TandemProviderEvents,
  type TandemProviderOptions,
  type TokenSource,
} from './provider.js';
export type { WebSocketConstructor, WebSocketLike } from './websocket-like.js';
export {
  defaultReconnectOptions,
  ReconnectPolicy,
  type ReconnectDecision,
  type ReconnectOptions,
} from './reconnect-policy.js';
export { colorFor, Presence, type Other, type PresenceUser } from './presence.js';
export { PublishError, RoomEvents, type EventHandler } from './room-events.js';
export { SaveTracker, type SaveState } from './save-tracker.js';
export type { ErrorCode, EventEnvelope, ReceivedErrorCode } from '@tandem/protocol';
