export {
  defaultFallbackOptions,
  TandemProvider,
  type ConnectionStatus,
  type FallbackOptions,
  type Transport,
  type Diagnostics,
  type TandemProviderEvents,
  type TandemProviderOptions,
  type TokenSource,
  type WebSocketConstructor,
  type WebSocketLike,
} from './provider.js';
export {
  defaultReconnectOptions,
  ReconnectPolicy,
  type ReconnectDecision,
  type ReconnectOptions,
} from './reconnect-policy.js';
export { colorFor, Presence, type Other, type PresenceUser } from './presence.js';
export { PublishError, RoomEvents, type EventHandler } from './room-events.js';
export { SaveTracker, type SaveState } from './save-tracker.js';
export type { EventEnvelope } from '@tandem/protocol';
