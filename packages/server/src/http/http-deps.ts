import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Authenticator } from '../auth/authenticator.js';
import type { RoomAccess } from '../auth/room-access.js';
import type { EventService } from '../events/event-service.js';
import type { Config } from '../ops/config.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { RevisionService } from '../revisions/revision-service.js';
import type { RoomRegistry } from '../rooms/room-registry.js';
import type { Store } from '../storage/store.js';
import type { AddressCounter } from '../transport/client-address.js';
import type { HttpSyncEndpoint } from '../transport/http-sync.js';
import type { WriteLimiter } from './write-limiter.js';

/** What the REST routes are built from; routes import this, never app.ts. */
export interface HttpDeps {
  config: Config;
  logger: Logger;
  store: Store;
  registry: RoomRegistry;
  access: RoomAccess;
  authenticator: Authenticator;
  metrics: Metrics;
  isDraining: () => boolean;
  /** The bus to other instances: none (one instance), connected, or down (rooms poll the store). */
  busState: () => 'local' | 'connected' | 'down';
  events: EventService;
  revisions: RevisionService;
  /** Open SSE responses, ended on drain. */
  sseStreams: Set<ServerResponse>;
  /** Per-user budget for REST writes. */
  writeLimiter: WriteLimiter;
  /** Live connections per client address, shared by sockets and SSE streams. */
  addresses: AddressCounter;
  /** Sessions of the HTTP fallback transport. */
  httpSync: HttpSyncEndpoint;
}

export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;
