import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { OpenAuthenticator, type Authenticator } from './auth/authenticator.js';
import { TandemError } from './errors.js';
import type { Config } from './ops/config.js';
import { silentLogger, type Logger } from './ops/logger.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { MemoryStore } from './storage/memory-store.js';
import { SqliteStore } from './storage/sqlite-store.js';
import type { Store } from './storage/store.js';
import { SyncEndpoint } from './transport/websocket.js';

export interface ServerDeps {
  logger?: Logger;
  /** Overrides the store chosen by config (tests inject failing or slow stores here). */
  store?: Store;
  authenticator?: Authenticator;
}

export interface TandemServer {
  readonly config: Config;
  readonly port: number;
  /** Base WebSocket URL; clients connect to `${syncUrl}/<room>`. */
  readonly syncUrl: string;
  readonly httpUrl: string;
  readonly registry: RoomRegistry;
  readonly store: Store;
  /** Graceful shutdown: stop accepting, make every write durable, close peers (1012), close the store. */
  drain(): Promise<{ clean: boolean }>;
}

export function createStore(config: Config): Store {
  switch (config.store) {
    case 'memory':
      return new MemoryStore();
    case 'sqlite':
      return new SqliteStore(join(config.dataDir, 'tandem.db'), { synchronous: config.sqliteSynchronous });
  }
}

export async function startServer(config: Config, deps: ServerDeps = {}): Promise<TandemServer> {
  const logger = deps.logger ?? silentLogger();
  const store = deps.store ?? createStore(config);
  const registry = new RoomRegistry(store, logger, {
    unloadDelayMs: config.unloadDelayMs,
    compactAfterUpdates: config.compactAfterUpdates,
  });
  let draining = false;
  const http = createHttpServer((req, res) => handleHttp(req, res, () => draining));
  const sync = new SyncEndpoint(http, registry, deps.authenticator ?? new OpenAuthenticator(), logger, {
    maxMessageBytes: config.maxMessageBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    heartbeatMs: config.heartbeatMs,
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;

  let drained: Promise<{ clean: boolean }> | null = null;
  const drain = async (): Promise<{ clean: boolean }> => {
    draining = true;
    sync.stopAccepting();
    const closedListener = closeHttp(http);
    // Make what peers already sent durable (and acked) before telling them to go away, then flush
    // whatever arrived while they were closing.
    const deadline = Date.now() + config.drainTimeoutMs;
    let clean = await registry.flushAll(config.drainTimeoutMs);
    await sync.closeAll(new TandemError('draining', 'server restarting'));
    clean = (await registry.flushAll(Math.max(0, deadline - Date.now()))) && clean;
    sync.close();
    registry.closeAll();
    await store.close();
    await closedListener;
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
    drain: () => (drained ??= drain()),
  };
}

function handleHttp(req: IncomingMessage, res: ServerResponse, isDraining: () => boolean): void {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (path === '/readyz') {
    return isDraining() ? sendJson(res, 503, { status: 'draining' }) : sendJson(res, 200, { status: 'ready' });
  }
  const error = new TandemError('not_found', `no route for ${req.method ?? 'GET'} ${path}`);
  sendJson(res, error.status, { error: { code: error.code, message: error.message } });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function closeHttp(http: Server): Promise<void> {
  return new Promise((resolve) => {
    http.close(() => resolve());
    http.closeIdleConnections();
  });
}
