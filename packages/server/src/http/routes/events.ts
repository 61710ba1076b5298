import { z } from 'zod';
import { TandemError } from '../../errors.js';
import { toEnvelope } from '../../events/event-service.js';
import {
  checkEventData,
  EVENT_TYPE_PATTERN,
  EVENT_TYPE_RULE,
  RESERVED_EVENT_PREFIX,
} from '../../events/event-rules.js';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../http-deps.js';
import { roomCaller } from '../route-access.js';
import { requireRoom } from '../request-access.js';
import { roomParam } from '../route-params.js';

export const envelope = z.object({
  id: z.string(),
  type: z.string(),
  room: z.string(),
  ts: z.number(),
  user: z.string().nullable(),
  data: z.unknown(),
});
const eventType = z
  .string()
  .regex(EVENT_TYPE_PATTERN, EVENT_TYPE_RULE)
  .refine((t) => !t.startsWith(RESERVED_EVENT_PREFIX), { message: 'the collab. prefix is reserved for server events' });
const eventBody = z.object({ type: eventType, data: z.unknown().optional() });

/** The services eventRoutes use: nothing else reaches them. */
export type EventRoutesDeps = Pick<HttpDeps, 'events' | 'registry' | 'store'>;

export const eventRoutes: FastifyPluginCallbackZod<EventRoutesDeps> = (app, deps, done) => {
  app.post(
    '/v1/rooms/:room/events',
    {
      config: { access: 'editor' },
      schema: {
        summary: 'Publish an app event: stored, sent live to Tandem clients, SSE streams and webhooks',
        description:
          'An `Idempotency-Key` header makes retries safe: the same key from the same user in a room stores ' +
          'one event (200 with the first one); reusing a key for a different event answers 422 ' +
          '`idempotency_key_reused`.',
        params: z.object({ room: roomParam }),
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }),
        body: eventBody,
        response: { 200: z.object({ event: envelope }), 201: z.object({ event: envelope }) },
      },
    },
    async (request, reply) => {
      const { room } = request.params;
      const { principal } = roomCaller(request);
      checkEventData(request.body.data);
      const screened = await deps.events.screen(room, {
        type: request.body.type,
        user: principal.user,
        data: request.body.data ?? null,
      });
      const { event, duplicate } = await deps.events.publish(room, {
        ...screened,
        idempotencyKey: request.headers['idempotency-key'],
      });
      return reply.status(duplicate ? 200 : 201).send({ event });
    },
  );

  app.get(
    '/v1/rooms/:room/events',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Events after `since` (an event id), oldest first, for polling clients',
        description:
          'Rooms keep their newest --event-retention events (default 10000). A `since` older than what ' +
          'is kept answers 410 `events_expired`: read the room again, then poll from the id the message names. ' +
          '`since=0` returns the oldest events kept.',
        params: z.object({ room: roomParam }),
        querystring: z.object({
          since: z.coerce.number().int().min(0).default(0),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
        response: { 200: z.object({ events: z.array(envelope), next: z.string() }) },
      },
    },
    async (request) => {
      const { room } = request.params;
      await requireRoom(deps, room);
      const horizon = await deps.store.eventHorizon(room);
      // since=0 asks for whatever is kept; a later position behind the horizon has a gap.
      if (request.query.since > 0 && request.query.since < horizon) {
        throw new TandemError(
          'events_expired',
          `events up to ${horizon} were deleted by retention; resync the room, then poll from since=${horizon}`,
        );
      }
      const events = (await deps.store.listEvents(room, request.query)).map((e) => toEnvelope(room, e));
      return { events, next: events.at(-1)?.id ?? String(request.query.since) };
    },
  );

  app.post(
    '/v1/rooms/:room/broadcast',
    {
      config: { access: 'editor' },
      schema: {
        summary: 'Send an ephemeral message to the connected Tandem clients of a room (not stored)',
        params: z.object({ room: roomParam }),
        body: eventBody,
        response: { 202: z.object({ event: envelope, delivered: z.number() }) },
      },
    },
    async (request, reply) => {
      const { room } = request.params;
      const { principal } = roomCaller(request);
      checkEventData(request.body.data);
      const event = deps.events.broadcast(
        room,
        await deps.events.screen(room, {
          type: request.body.type,
          user: principal.user,
          data: request.body.data ?? null,
        }),
      );
      const delivered =
        deps.registry
          .get(room)
          ?.peerList()
          .filter((p) => p.tandem).length ?? 0;
      return reply.status(202).send({ event, delivered });
    },
  );
  done();
};
