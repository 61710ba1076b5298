import type { App, HttpDeps } from '../app.js';

export function healthRoutes(app: App, deps: HttpDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    if (deps.isDraining()) return reply.status(503).send({ status: 'draining' });
    return { status: 'ready' };
  });

  app.get('/metrics', async (_request, reply) => {
    deps.metrics.roomsLoaded.set(deps.registry.size);
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
