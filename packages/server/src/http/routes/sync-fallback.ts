import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { TandemError, toTandemError } from '../../errors.js';
import { sessionClosedBody } from '../../transport/http-peer.js';
import { SESSION_ID } from '../../transport/http-sync.js';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../http-deps.js';
import { authenticate } from '../request-access.js';
import { writeEventStreamHead } from '../event-stream-head.js';
import { roomParam } from '../route-params.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_BATCH = 256;

const sessionQuery = z.object({
  session: z.string().regex(SESSION_ID, 'session ids are 16-64 chars of A-Z a-z 0-9 _ -'),
  lastEventId: z.coerce.number().int().min(0).optional(),
});

/**
 * Answers a refusal with its close code too: a fallback client treats it exactly as the socket close
 * it stands for (reconnect, refresh the token, or give up).
 */
function refuse(reply: FastifyReply, deps: Pick<HttpDeps, 'logger' | 'metrics'>, err: unknown): FastifyReply {
  const error = toTandemError(err, deps.logger);
  deps.metrics.refusals.inc({ reason: error.code });
  return reply.status(error.status).send(sessionClosedBody(error));
}

/**
 * The HTTP fallback transport (see transport/http-sync.ts): `GET /v1/sync/:room/stream` receives,
 * `POST /v1/sync/:room/messages` sends (and polls). Room names with `/` are percent-encoded here.
 */
/** The services syncFallbackRoutes use: nothing else reaches them. */
export type SyncFallbackRoutesDeps = Pick<
  HttpDeps,
  'authenticator' | 'config' | 'logger' | 'metrics' | 'sseStreams' | 'httpSync'
>;

export const syncFallbackRoutes: FastifyPluginCallbackZod<SyncFallbackRoutesDeps> = (app, deps, done) => {
  const { httpSync } = deps;
  const maxMessageChars = Math.ceil(deps.config.maxMessageBytes / 3) * 4;

  app.get(
    '/v1/sync/:room/stream',
    {
      config: { access: 'session' },
      schema: {
        summary: 'HTTP fallback: the session’s messages as Server-Sent Events',
        description:
          'Starts the session `session` (chosen by the client) or continues it. First an `open` event, then ' +
          'every protocol message for the client as `data: <base64>` with an `id`; reconnect with ' +
          '`Last-Event-ID` (or `?lastEventId=`) to get what the client missed. Ends with a `close` event ' +
          '`{"error": {code, message, closeCode}}` when the session ends.',
        params: z.object({ room: roomParam }),
        querystring: sessionQuery,
      },
    },
    async (request, reply) => {
      const { room } = request.params;
      const header = Number(request.headers['last-event-id']);
      const lastEventId = Number.isInteger(header) && header >= 0 ? header : (request.query.lastEventId ?? 0);
      let peer;
      try {
        const principal = await authenticate(request, deps);
        peer = await httpSync.resolve(request.query.session, room, principal, request.raw);
      } catch (err) {
        return refuse(reply, deps, err);
      }
      reply.hijack();
      const res = reply.raw;
      writeEventStreamHead(res);
      deps.sseStreams.add(res);
      res.once('close', () => deps.sseStreams.delete(res));
      peer.attach(res, lastEventId);
    },
  );

  app.post(
    '/v1/sync/:room/messages',
    {
      config: { access: 'session' },
      bodyLimit: maxMessageChars + 64 * 1024,
      schema: {
        summary: 'HTTP fallback: send a batch of protocol messages (and poll)',
        description:
          'Starts or continues the session. `messages` are base64 protocol messages, applied in order as if ' +
          'they came over a socket. `received` confirms every message up to that id. With `poll: true` the ' +
          'answer carries the messages after `received` (clients whose SSE is buffered poll this way). ' +
          '`close: true` ends the session. A refusal answers `{"error": {code, message, closeCode}}`.',
        params: z.object({ room: roomParam }),
        querystring: sessionQuery.pick({ session: true }),
        body: z.object({
          messages: z.array(z.string().max(maxMessageChars)).max(MAX_BATCH).default([]),
          received: z.number().int().min(0).optional(),
          poll: z.boolean().optional(),
          close: z.boolean().optional(),
        }),
        response: {
          200: z.object({ messages: z.array(z.object({ id: z.number().int(), data: z.string() })) }),
        },
      },
    },
    async (request, reply) => {
      const { room } = request.params;
      const { messages, received, poll, close } = request.body;
      try {
        const frames = messages.map((text) => {
          if (!BASE64.test(text)) throw new TandemError('invalid_request', 'messages must be base64');
          return Buffer.from(text, 'base64');
        });
        const principal = await authenticate(request, deps);
        const peer = await httpSync.resolve(request.query.session, room, principal, request.raw);
        if (received !== undefined) peer.confirm(received);
        httpSync.receive(peer, frames);
        if (close) {
          peer.close();
          return { messages: [] };
        }
        if (peer.endedWith) throw peer.endedWith;
        return { messages: poll ? peer.framesAfter(received ?? 0) : [] };
      } catch (err) {
        return refuse(reply, deps, err);
      }
    },
  );
  done();
};
