import { StoreUnavailableError } from '../../storage/store.js';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../http-deps.js';

const hidden = { schema: { hide: true } };
/**
 * How long readiness waits for the store. A frozen database (or a partition) answers nothing, and a
 * readiness check that hangs is worse than one that fails: a proxy's probe times out with no reason,
 * and each hung check holds a request open.
 */
export const READY_DEADLINE_MS = 2_000;

class ReadyDeadlineError extends Error {}

/** The services healthRoutes use: nothing else reaches them. */
export type HealthRoutesDeps = Pick<HttpDeps, 'busState' | 'isDraining' | 'metrics' | 'registry' | 'store'>;

export const healthRoutes: FastifyPluginCallbackZod<HealthRoutesDeps> = (app, deps, done) => {
  app.get('/healthz', hidden, async () => ({ status: 'ok' }));

  app.get('/readyz', hidden, async (request, reply) => {
    if (deps.isDraining()) return reply.status(503).send({ status: 'draining' });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        deps.store.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ReadyDeadlineError()), READY_DEADLINE_MS);
        }),
      ]);
    } catch (err) {
      const status =
        err instanceof ReadyDeadlineError
          ? 'store_timeout'
          : err instanceof StoreUnavailableError
            ? 'store_cannot_commit'
            : 'store_unreachable';
      request.log.warn({ err, status }, 'store not ready');
      return reply.status(503).send({ status });
    } finally {
      clearTimeout(timer);
    }
    // A bus outage does not make an instance unready: it still serves and acks its own clients, and
    // rooms poll the store for the others' updates. Taking every instance out of rotation at once
    // would turn a Redis outage into a full one. It is said here, and in tandem_bus_connected.
    return deps.busState() === 'down' ? { status: 'ready', bus: 'down' } : { status: 'ready' };
  });

  app.get('/v1/openapi.json', { ...hidden, config: { access: 'public' } }, async () => app.swagger());

  app.get('/metrics', hidden, async (_request, reply) => {
    deps.metrics.roomsLoaded.set(deps.registry.size);
    const bus = deps.busState();
    if (bus !== 'local') deps.metrics.busConnected.set(bus === 'connected' ? 1 : 0);
    deps.metrics.roomsWithDocument.set(deps.registry.loadedRooms().filter((room) => room.hasLiveDoc).length);
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  done();
};
