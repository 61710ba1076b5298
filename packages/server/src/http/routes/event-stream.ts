import { z } from 'zod';
import { TandemError } from '../../errors.js';
import { toEnvelope, type EventEnvelope } from '../../events/event-service.js';
import { clientAddress } from '../../transport/client-address.js';
import { onExpiry } from '../../transport/expiry-timer.js';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../http-deps.js';
import { roomCaller } from '../route-access.js';
import { requireRoom } from '../request-access.js';
import { writeEventStreamHead } from '../event-stream-head.js';
import { roomParam } from '../route-params.js';

const SSE_HEARTBEAT_MS = 15_000;

/** An SSE `error` event: `{"error": {code, message}}`, plus any extra fields. */
function errorEvent(error: TandemError, extra: Record<string, unknown> = {}): string {
  return `event: error\ndata: ${JSON.stringify({ error: { code: error.code, message: error.message }, ...extra })}\n\n`;
}
const BACKLOG_PAGE = 500;

/**
 * `GET …/events/stream`: the backlog since Last-Event-ID, then live events. A stream is a connection
 * like a socket: it counts against the per-address limit, ends when the token expires (error event
 * `unauthenticated`) and when the caller's access to the room is removed (`forbidden`).
 */
/** The services eventStreamRoute use: nothing else reaches them. */
export type EventStreamRouteDeps = Pick<
  HttpDeps,
  'access' | 'addresses' | 'config' | 'events' | 'metrics' | 'sseStreams' | 'store' | 'registry'
>;

export const eventStreamRoute: FastifyPluginCallbackZod<EventStreamRouteDeps> = (app, deps, done) => {
  app.get(
    '/v1/rooms/:room/events/stream',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Server-Sent Events: missed events since Last-Event-ID (or ?since), then live ones',
        description:
          'Ends with an `error` event `{"error": {code, message}}` when the token expires (`unauthenticated`) ' +
          'or access is removed (`forbidden`). A resume point older than the retained events gets an `error` ' +
          'event `events_expired` (with `resumeFrom`) and continues from the oldest kept. Counts against ' +
          '--max-connections-per-ip.',
        params: z.object({ room: roomParam }),
        querystring: z.object({ since: z.coerce.number().int().min(0).optional() }),
      },
    },
    async (request, reply) => {
      const { room } = request.params;
      const { principal } = roomCaller(request);
      await requireRoom(deps, room);
      const address = clientAddress(request.raw, deps.config.trustProxy);
      if (!deps.addresses.acquire(address)) {
        throw new TandemError('too_many_connections', 'too many connections from your address');
      }
      const lastEventId = Number(request.headers['last-event-id']);
      let cursor = Number.isInteger(lastEventId) && lastEventId >= 0 ? lastEventId : (request.query.since ?? 0);

      reply.hijack();
      const res = reply.raw;
      writeEventStreamHead(res);
      const write = (e: EventEnvelope): void => {
        const id = Number(e.id);
        if (id <= cursor) return;
        cursor = id;
        res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      };
      const endWith = (error: TandemError): void => {
        if (res.writableEnded) return;
        deps.metrics.refusals.inc({ reason: error.code });
        res.end(errorEvent(error));
      };
      // Subscribe before reading the backlog so nothing falls between the two; `write` drops repeats.
      const buffered: EventEnvelope[] = [];
      let live = false;
      const unsubscribe = deps.events.subscribe(
        (e) => {
          if (e.room !== room) return;
          if (live) write(e);
          else buffered.push(e);
        },
        { includeRemote: true },
      );
      const stopWatchingAccess = deps.access.onChange((changedRoom, user) => {
        if (changedRoom !== room || user !== principal.user) return;
        deps.access.roleFor(principal, room).then(
          (role) => {
            if (role === null) endWith(new TandemError('forbidden', 'your access to this room was removed'));
          },
          (err: unknown) => request.log.error({ err, room }, 'SSE access re-check failed'),
        );
      });
      const cancelExpiry =
        principal.expiresAt === undefined
          ? () => undefined
          : onExpiry(principal.expiresAt, () => endWith(new TandemError('unauthenticated', 'token expired')));
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
      heartbeat.unref();
      deps.sseStreams.add(res);
      res.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        stopWatchingAccess();
        cancelExpiry();
        deps.sseStreams.delete(res);
        deps.addresses.release(address);
      });
      res.write('retry: 2000\n\n');
      try {
        const horizon = await deps.store.eventHorizon(room);
        if (cursor > 0 && cursor < horizon) {
          // Told, then resumed from what is kept: ending would only make EventSource reconnect into the same gap.
          const error = new TandemError('events_expired', `events up to ${horizon} were deleted by retention`);
          res.write(errorEvent(error, { resumeFrom: String(horizon) }));
          cursor = horizon;
        }
        for (;;) {
          const page = await deps.store.listEvents(room, { since: cursor, limit: BACKLOG_PAGE });
          for (const e of page) write(toEnvelope(room, e));
          if (page.length < BACKLOG_PAGE) break;
        }
      } catch (err) {
        request.log.error({ err, room }, 'SSE backlog failed');
        res.end();
        return;
      }
      live = true;
      for (const e of buffered.splice(0)) write(e);
    },
  );
  done();
};
