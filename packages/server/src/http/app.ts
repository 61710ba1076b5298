import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError } from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { jsonTextDepth, MAX_JSON_DEPTH } from '@tandem/protocol';
import { TandemError } from '../errors.js';
import { redactUrl } from '../ops/logger.js';
import { collaboratorRoutes } from './routes/collaborators.js';
import { contentRoutes } from './routes/content.js';
import { eventStreamRoute } from './routes/event-stream.js';
import { eventRoutes } from './routes/events.js';
import { revisionRoutes } from './routes/revisions.js';
import { healthRoutes } from './routes/health.js';
import { roomRoutes } from './routes/rooms.js';
import { staticAppRoutes, wantsAppPage } from './routes/static-app.js';
import { syncFallbackRoutes } from './routes/sync-fallback.js';
import type { App, HttpDeps } from './http-deps.js';
import { enforceDeclaredAccess } from './route-access.js';

export type { App, HttpDeps } from './http-deps.js';

/** The REST side of the server. WebSockets share its http.Server (see transport/websocket.ts). */
export async function buildApp(deps: HttpDeps): Promise<App> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ module: 'http' }) as FastifyBaseLogger,
    // Fastify's request lines would log the raw URL, token query parameter included.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.maxMessageBytes,
    // Room names are up to 256 characters, each up to three once percent-encoded (`%2F`).
    routerOptions: { maxParamLength: 1024 },
    // A client trickling its request in holds a socket and a descriptor; Node's default is 300 s, and
    // Node looks for overdue requests only every 30 s unless told otherwise.
    requestTimeout: deps.config.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(10_000, deps.config.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(2_000, deps.config.requestTimeoutMs / 2),
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tandem REST API',
        version: '1.0.0',
        description:
          'Read and change rooms without a socket. Errors are `{error: {code, message}}` with stable codes. ' +
          'Authenticate as on the socket: `Authorization: Bearer <jwt>` (or the configured cookie; dev auth: `X-User-Id`).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  if (deps.config.corsOrigin.length > 0) {
    await app.register(cors, {
      origin: deps.config.corsOrigin.includes('*') ? true : deps.config.corsOrigin,
      credentials: deps.authenticator.usesCookies,
      exposedHeaders: ['ETag'],
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      { method: request.method, url: redactUrl(request.url), status: reply.statusCode, ms: reply.elapsedTime },
      'request',
    );
  });

  app.setErrorHandler((err: FastifyError | TandemError, request, reply) => {
    let error: TandemError;
    if (err instanceof TandemError) error = err;
    else if (err.validation) error = new TandemError('invalid_request', err.message);
    else if (err.statusCode !== undefined && err.statusCode < 500) {
      // Fastify's own client errors (bad JSON, body too large, wrong content type).
      error = new TandemError(err.statusCode === 413 ? 'message_too_big' : 'invalid_request', err.message);
    } else {
      request.log.error({ err }, 'request failed');
      error = new TandemError('internal', 'internal error');
    }
    deps.metrics.refusals.inc({ reason: error.code });
    void reply.status(error.status).send({ error: { code: error.code, message: error.message } });
  });
  app.setNotFoundHandler((request, reply) => {
    if (deps.config.staticDir && wantsAppPage(request.method, request.url, request.headers.accept)) {
      void reply.header('cache-control', 'no-cache').sendFile('index.html');
      return;
    }
    void reply
      .status(404)
      .send({ error: { code: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` } });
  });

  // Every JSON body: nesting is checked before parsing, because later steps (size checks, storage,
  // Yjs) stringify or recurse into the value and a deep one would overflow the stack.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonTextDepth(body as string) > MAX_JSON_DEPTH) {
      done(new TandemError('invalid_request', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    void parseJson(request, body as string, done);
  });
  // Raw Yjs updates; text bodies are parsed by Fastify already.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // Before any route: each route's declared access is checked as it is added, and enforced per request.
  enforceDeclaredAccess(app, deps);
  // Each route file is a plugin given only the services it uses (its *Deps type).
  await app.register(healthRoutes, deps);
  await app.register(roomRoutes, deps);
  await app.register(contentRoutes, deps);
  await app.register(eventRoutes, deps);
  await app.register(eventStreamRoute, deps);
  await app.register(revisionRoutes, deps);
  await app.register(collaboratorRoutes, deps);
  await app.register(syncFallbackRoutes, deps);
  if (deps.config.staticDir) await staticAppRoutes(app, deps.config.staticDir);
  return app;
}
