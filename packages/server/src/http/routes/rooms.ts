import { z } from 'zod';
import { docVersion } from '../../rooms/doc-view.js';
import * as Y from 'yjs';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../http-deps.js';
import { callerOf } from '../route-access.js';
import { requireRoom } from '../request-access.js';
import { roomParam } from '../route-params.js';

const roomSummary = z.object({ name: z.string(), createdAt: z.number(), updatedAt: z.number() });

/** The services roomRoutes use: nothing else reaches them. */
export type RoomRoutesDeps = Pick<HttpDeps, 'access' | 'registry' | 'store'>;

export const roomRoutes: FastifyPluginCallbackZod<RoomRoutesDeps> = (app, deps, done) => {
  app.get(
    '/v1/rooms',
    {
      config: { access: 'authenticated' },
      schema: {
        summary: 'List rooms the caller can read, by name',
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(200).default(50),
          after: z.string().max(256).optional(),
        }),
        response: { 200: z.object({ rooms: z.array(roomSummary), next: z.string().nullable() }) },
      },
    },
    async (request) => {
      const principal = callerOf(request);
      const { limit, after } = request.query;
      // Filtered by the store before the page is cut, so `next` is always a room the caller may see.
      const page = await deps.store.listRooms({ after, limit, visibleTo: deps.access.visibility(principal) });
      return {
        rooms: page.map((info) => ({ name: info.name, createdAt: info.createdAt, updatedAt: info.updatedAt })),
        next: page.length === limit ? page.at(-1)!.name : null,
      };
    },
  );

  app.get(
    '/v1/rooms/:room',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Room details: timestamps, size, version and who is connected',
        params: z.object({ room: roomParam }),
        response: {
          200: roomSummary.extend({
            size: z.number().describe('bytes of the encoded document'),
            version: z.string(),
            connectedUsers: z.array(z.string()),
            peers: z.number(),
          }),
        },
      },
    },
    async (request, reply) => {
      const { room } = request.params;
      const info = await requireRoom(deps, room);
      return deps.registry.use(room, (r) => {
        const version = docVersion(r.doc);
        void reply.header('etag', `"${version}"`);
        return {
          name: room,
          createdAt: info.createdAt,
          updatedAt: info.updatedAt,
          size: Y.encodeStateAsUpdate(r.doc).length,
          version,
          connectedUsers: [...new Set(r.peerList().map((p) => p.user))].sort(),
          peers: r.peerCount,
        };
      });
    },
  );

  app.delete(
    '/v1/rooms/:room',
    {
      config: { access: 'owner' },
      schema: { summary: 'Delete a room and everything stored for it (owner)', params: z.object({ room: roomParam }) },
    },
    async (request, reply) => {
      const { room } = request.params;
      await requireRoom(deps, room);
      deps.registry.dropDeleted(room);
      await deps.store.deleteRoom(room);
      // Other instances close their peers of it too; told after the delete, so none reloads the room.
      deps.registry.deleteCommitted(room);
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/rooms/:room/presence',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Who is connected, with their awareness state',
        params: z.object({ room: roomParam }),
        response: {
          200: z.object({
            presence: z.array(z.object({ clientId: z.number(), user: z.string().nullable(), state: z.unknown() })),
          }),
        },
      },
    },
    async (request) => {
      const { room } = request.params;
      const loaded = deps.registry.get(room);
      if (!loaded) await requireRoom(deps, room);
      return { presence: loaded?.presenceStates() ?? [] };
    },
  );
  done();
};
