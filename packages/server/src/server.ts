import type { ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Authenticator } from './auth/authenticator.js';
import { createAuthenticator } from './auth/create-authenticator.js';
import { RoomAccess } from './auth/room-access.js';
import { TandemError } from './errors.js';
import { EventService } from './events/event-service.js';
import type { Extension } from './extensions/extension.js';
import { ExtensionRunner } from './extensions/extension-runner.js';
import { loadUrlExtension } from './extensions/load-url.js';
import { RevisionService } from './revisions/revision-service.js';
import { WebhookSender, type WebhookOptions } from './events/webhook-sender.js';
import { buildApp } from './http/app.js';
import { WriteLimiter } from './http/write-limiter.js';
import type { Config } from './ops/config.js';
import { silentLogger, type Logger } from './ops/logger.js';
import { Metrics } from './ops/metrics.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { MemoryStore } from './storage/memory/memory-store.js';
import { PostgresStore } from './storage/postgres/postgres-store.js';
import { SqliteStore } from './storage/sqlite/sqlite-store.js';
import type { Store } from './storage/store.js';
import { LocalBus, type Bus } from './bus/bus.js';
import { RedisBus } from './bus/redis-bus.js';
import { ClusterSync } from './rooms/cluster-sync.js';
import { Shutdown } from './shutdown.js';
import { AddressCounter } from './transport/client-address.js';
import { HttpSyncEndpoint } from './transport/http-sync.js';
import { SyncEndpoint } from './transport/websocket.js';

/** How long a drain lets open HTTP connections finish before cutting them. */
const CLOSE_GRACE_MS = 2_000;

export interface ServerDeps {
  logger?: Logger;
  /** Overrides the store chosen by config (tests inject failing or slow stores here). */
  store?: Store;
  /** Overrides the authenticator chosen by config: the hook for custom auth. */
  authenticator?: Authenticator;
  /** Include process metrics (CPU, memory, event loop) in /metrics; on for the CLI. */
  processMetrics?: boolean;
  /** Overrides the bus chosen by config (tests connect several servers through a MemoryBusHub). */
  bus?: Bus;
  /** Hooks into connections, loading, updates and events, run in this order (docs/extensions.md). */
  extensions?: Extension[];
  /** Retry timing of webhook deliveries (tests shorten it). */
  webhookOptions?: Partial<
    Pick<WebhookOptions, 'retryBaseMs' | 'maxDelayMs' | 'maxAttempts' | 'timeoutMs' | 'leaseRetryMs'>
  >;
}

export interface TandemServer {
  readonly config: Config;
  readonly port: number;
  /** Base WebSocket URL; clients connect to `${syncUrl}/<room>`. */
  readonly syncUrl: string;
  readonly httpUrl: string;
  /** The loaded rooms. Internal (for tests and tooling): its API may change between versions. */
  readonly registry: RoomRegistry;
  readonly store: Store;
  readonly access: RoomAccess;
  readonly authenticator: Authenticator;
  readonly metrics: Metrics;
  readonly events: EventService;
  readonly revisions: RevisionService;
  /** Webhook delivery (null without --webhook-url); `delivering` tells whether this instance holds its lease. */
  readonly webhooks: WebhookSender | null;
  /** Graceful shutdown: stop accepting, make every write durable, close peers (1012), close the store. */
  drain(): Promise<{ clean: boolean }>;
}

export function createStore(config: Config, logger: Logger): Store {
  switch (config.store) {
    case 'memory':
      return new MemoryStore();
    case 'postgres':
      return new PostgresStore({
        connectionString: config.databaseUrl!,
        schema: config.databaseSchema,
        logger: logger.child({ module: 'store' }),
      });
    case 'sqlite':
      return new SqliteStore(join(config.dataDir, 'tandem.db'), {
        synchronous: config.sqliteSynchronous,
        commitWindowMs: config.commitWindowMs,
        logger: logger.child({ module: 'store' }),
      });
  }
}

/**
 * Resolves once the store can be used: a database that cannot be reached or migrated rejects with its
 * reason (and is closed), before anything is served from it.
 */
export async function whenStoreReady(store: Store): Promise<Store> {
  try {
    await store.whenReady();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}

export async function startServer(config: Config, deps: ServerDeps = {}): Promise<TandemServer> {
  const logger = deps.logger ?? silentLogger();
  const shutdown = new Shutdown();
  const store = await whenStoreReady(deps.store ?? createStore(config, logger));
  shutdown.onClose('storage', () => store.close());
  const extensionList = [...(deps.extensions ?? [])];
  if (config.loadUrl) {
    extensionList.push(
      loadUrlExtension({
        url: config.loadUrl,
        secret: config.webhookSecret,
        timeoutMs: config.loadTimeoutMs,
        maxBytes: config.maxDocumentBytes,
        textField: config.loadTextField,
      }),
    );
  }
  const extensions: ExtensionRunner = new ExtensionRunner(
    extensionList,
    logger.child({ module: 'extensions' }),
    config.roomUpdatedDebounceMs,
    config.maxDocumentBytes,
    // Called only once rooms are being served, after `registry` below exists.
    (room, fn) => registry.use(room, (r) => fn(r.doc)),
  );
  shutdown.onClose('services', () => extensions.close());
  const authenticator = extensions.wrap(deps.authenticator ?? createAuthenticator(config));
  const access = new RoomAccess(store, authenticator.open);
  const metrics = new Metrics({ processMetrics: deps.processMetrics });
  const registry: RoomRegistry = new RoomRegistry(
    store,
    logger,
    {
      unloadDelayMs: config.unloadDelayMs,
      compactAfterUpdates: config.compactAfterUpdates,
      flushWindowMs: config.flushWindowMs,
      batchAboveDeliveries: config.batchAboveDeliveries,
      maxRooms: config.maxRooms,
      maxRoomsPerAddress: config.maxRoomsPerIp,
      maxConnectionsPerRoom: config.maxConnectionsPerRoom,
      maxDocumentBytes: config.maxDocumentBytes,
      viewerPresence: config.viewerPresence,
      maxPresenceBytes: config.maxPresenceBytes,
      maxRoomPresenceBytes: config.maxRoomPresenceBytes,
      loadInitial: extensions.loadsDocuments ? (room) => extensions.loadDocument(room) : undefined,
      // Called only when a room compacts, after `cluster` below exists.
      appliedThrough: (room: string): number | null => cluster?.appliedThrough(room) ?? null,
    },
    metrics,
  );
  shutdown.onClose('rooms', () => registry.closeAll());
  const events = new EventService(store, registry, logger.child({ module: 'events' }), {
    roomUpdatedDebounceMs: config.roomUpdatedDebounceMs,
    retention: config.eventRetention,
    screenAppEvent: (room, event) => extensions.beforeEvent(room, event),
  });
  const revisions = new RevisionService(
    store,
    registry,
    events,
    logger.child({ module: 'revisions' }),
    config.revisionIntervalMs,
  );
  shutdown.onClose('services', () => events.close());
  shutdown.onClose('services', () => revisions.stop());
  registry.docChanged.subscribe((room) => {
    events.roomChanged(room);
    revisions.markChanged(room);
    extensions.changed(room);
  });
  const bus =
    deps.bus ??
    (config.bus === 'redis'
      ? new RedisBus({
          url: config.redisUrl,
          channel: config.redisChannel,
          timeoutMs: config.busTimeoutMs,
          logger: logger.child({ module: 'bus' }),
        })
      : new LocalBus());
  const cluster: ClusterSync | null =
    bus instanceof LocalBus
      ? null
      : new ClusterSync(registry, store, bus, events, access, logger.child({ module: 'cluster' }), {
          checkIntervalMs: config.busCheckMs,
        });
  shutdown.onClose('background', () => bus.close());
  shutdown.onClose('background', () => cluster?.close());
  registry.stored.subscribe((room, seq, update) => {
    extensions.stored(room, seq);
    cluster?.stored(room, seq, update);
  });
  events.subscribe((event) => extensions.event(event));
  // Recorded once, by the instance where the change was made.
  access.onChange((room, user, role, remote) => {
    if (remote) return;
    events.emitServerEvent(room, role ? 'collab.collaborator_added' : 'collab.collaborator_removed', null, {
      user,
      role,
    });
  });
  registry.deleted.subscribe((room) => {
    events.forget(room);
    revisions.forget(room);
  });
  let webhooks: WebhookSender | null = null;
  if (config.webhookUrl.length > 0) {
    webhooks = new WebhookSender(
      { urls: config.webhookUrl, secret: config.webhookSecret!, ...deps.webhookOptions },
      store,
      logger.child({ module: 'webhooks' }),
      metrics,
      // Instances sharing a database deliver once between them, whoever stored the event.
      store.leadership,
    );
    events.subscribe(webhooks.notify, { includeRemote: true });
    await webhooks.start();
    // Deliveries cut short are sent again from the stored cursor after the next start.
    shutdown.onClose('background', () => webhooks?.stop());
  }
  const sseStreams = new Set<ServerResponse>();
  const addresses = new AddressCounter(config.maxConnectionsPerIp);
  let draining = false;
  const sessionLimits = {
    maxUpdatesPerSecond: config.maxUpdatesPerSecond,
    updateBurst: config.updateBurst,
    maxAwarenessPerSecond: config.maxAwarenessPerSecond,
    awarenessBurst: config.awarenessBurst,
  };
  const httpSync = new HttpSyncEndpoint(
    { registry, access, authenticator, metrics, logger, events, addresses, extensions },
    {
      limits: sessionLimits,
      maxBufferedBytes: config.maxBufferedBytes,
      sessionTimeoutMs: config.httpSessionTimeoutMs,
      trustProxy: config.trustProxy,
    },
  );
  shutdown.onClose('services', () => httpSync.close());
  const app = await buildApp({
    config,
    logger,
    store,
    registry,
    access,
    authenticator,
    metrics,
    isDraining: () => draining,
    busState: () => (cluster === null ? 'local' : bus.connected ? 'connected' : 'down'),
    events,
    revisions,
    sseStreams,
    // Same budget per user as a socket gets for updates.
    writeLimiter: new WriteLimiter(config.maxUpdatesPerSecond, config.updateBurst),
    addresses,
    httpSync,
  });
  const sync = new SyncEndpoint(
    app.server,
    { registry, access, authenticator, metrics, logger, events, addresses, extensions },
    {
      maxMessageBytes: config.maxMessageBytes,
      maxBufferedBytes: config.maxBufferedBytes,
      heartbeatMs: config.heartbeatMs,
      corsOrigin: config.corsOrigin,
      trustProxy: config.trustProxy,
      ...sessionLimits,
    },
  );
  shutdown.onClose('services', () => sync.close());

  const openSockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    openSockets.add(socket);
    socket.once('close', () => openSockets.delete(socket));
  });
  shutdown.onClose('http', async () => {
    // app.close() waits for every connection to end, and once the server stops listening Node no longer
    // times out half-sent requests: one client trickling a request in would hold the drain forever.
    const forceClose = setTimeout(() => {
      for (const socket of openSockets) socket.destroy();
    }, CLOSE_GRACE_MS);
    await app.close();
    clearTimeout(forceClose);
  });
  // Registered after the server's own close, so it runs first: event streams end before it waits.
  shutdown.onClose('http', () => {
    for (const res of sseStreams) res.end();
  });
  // Fastify's own "Server listening" line would come before what the CLI prints first (the demo's URL).
  const level = app.log.level;
  app.log.level = 'warn';
  await app.listen({ port: config.port, host: config.host });
  app.log.level = level;
  const port = (app.server.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;

  let drained: Promise<{ clean: boolean }> | null = null;
  const drain = async (): Promise<{ clean: boolean }> => {
    draining = true;
    sync.stopAccepting();
    httpSync.stopAccepting();
    // Make what peers already sent durable (and acked) before telling them to go away, then flush
    // whatever arrived while they were closing.
    const deadline = Date.now() + config.drainTimeoutMs;
    let clean = await registry.flushAll(config.drainTimeoutMs);
    httpSync.closeAll(new TandemError('draining', 'server restarting'));
    await sync.closeAll(new TandemError('draining', 'server restarting'));
    clean = (await registry.flushAll(Math.max(0, deadline - Date.now()))) && clean;
    // Pending onChange hooks (autosaves) run now, while the rooms can still be read.
    await extensions.flush();
    // Then everything stops in the order each service registered for (see shutdown.ts).
    await shutdown.run();
    logger.info({ clean }, 'drained');
    return { clean };
  };

  return {
    config,
    port,
    syncUrl: `ws://${hostForUrl}:${port}/v1/sync`,
    httpUrl: `http://${hostForUrl}:${port}`,
    registry,
    store,
    access,
    authenticator,
    metrics,
    events,
    revisions,
    webhooks,
    drain: () => (drained ??= drain()),
  };
}
