export { OpenAuthenticator, type Authenticator, type Principal } from './auth/authenticator.js';
export { DevAuthenticator } from './auth/dev-authenticator.js';
export { JwtAuthenticator, type JwtAuthenticatorOptions } from './auth/jwt-authenticator.js';
export type { Grant } from './auth/room-pattern.js';
export { ROLES, type Role } from './auth/roles.js';
export { signToken, type TokenRequest } from './auth/sign-token.js';
export { errorCodes, errorStatus, TandemError, type ErrorCode } from './errors.js';
export type { ConnectionInfo, Extension, InitialContent, TransportName } from './extensions/extension.js';
export { configFromSources, parseConfig, type Config, type ConfigInput } from './ops/config.js';
export { createLogger, type Logger } from './ops/logger.js';
export type { Peer } from './rooms/peer.js';
export { MemoryStore } from './storage/memory/memory-store.js';
export { PostgresStore, type PostgresStoreOptions } from './storage/postgres/postgres-store.js';
export { SqliteStore } from './storage/sqlite/sqlite-store.js';
export { soleLeadership, type Lease, type Leadership } from './storage/leadership.js';
export type {
  Collaborator,
  CollaboratorStore,
  DocumentAppender,
  DocumentLog,
  EventFeed,
  EventLog,
  RevisionStore,
  RoomData,
  RoomListing,
  Store,
  StoredRoom,
} from './storage/store.js';
export type { EventEnvelope } from './events/event-service.js';
export { createStore, startServer, type ServerDeps, type TandemServer } from './server.js';
