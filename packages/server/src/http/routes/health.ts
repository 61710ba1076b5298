import { StoreUnavailableError } from '../../storage/store.js';
import type { App, HttpDeps } from '../app.js';

const hidden = { schema: { hide: true } };

export function healthRoutes(app: App, deps: HttpDeps): void {
  app.get('/healthz', hidden, async () => ({ status: 'ok' }));

  app.get('/readyz', hidden, async (request, reply) => {
    if (deps.isDraining()) return reply.status(503).send({ status: 'draining' });
    try {
      await deps.store.ping();
    } catch (err) {
      request.log.warn({ err }, 'store not ready');
      const status = err instanceof StoreUnavailableError ? 'store_cannot_commit' : 'store_unreachable';
      return reply.status(503).send({ status });
    }
    return { status: 'ready' };
  });

  app.get('/v1/openapi.json', hidden, async () => app.swagger());

  app.get('/metrics', hidden, async (_request, reply) => {
    deps.metrics.roomsLoaded.set(deps.registry.size);
    deps.metrics.roomsWithDocument.set(deps.registry.loadedRooms().filter((room) => room.hasLiveDoc).length);
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
