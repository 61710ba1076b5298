import { z } from 'zod';
import { ROLES } from '../../auth/roles.js';
import { TandemError } from '../../errors.js';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../http-deps.js';
import { roomParam, userParam } from '../route-params.js';
const collaborator = z.object({ user: z.string(), role: z.enum(ROLES) });

/** Owner-only management of a room's collaborators; changes apply to live sessions at once. */
/** The services collaboratorRoutes use: nothing else reaches them. */
export type CollaboratorRoutesDeps = Pick<HttpDeps, 'access' | 'store'>;

export const collaboratorRoutes: FastifyPluginCallbackZod<CollaboratorRoutesDeps> = (app, deps, done) => {
  app.get(
    '/v1/rooms/:room/collaborators',
    {
      config: { access: 'owner' },
      schema: {
        params: z.object({ room: roomParam }),
        response: { 200: z.object({ collaborators: z.array(collaborator) }) },
      },
    },
    async (request) => {
      return { collaborators: await deps.access.list(request.params.room) };
    },
  );

  app.get(
    '/v1/rooms/:room/collaborators/:user',
    {
      config: { access: 'owner' },
      schema: { params: z.object({ room: roomParam, user: userParam }), response: { 200: collaborator } },
    },
    async (request) => {
      const { room, user } = request.params;
      const role = await deps.store.getCollaborator(room, user);
      if (!role) throw new TandemError('not_found', `"${user}" is not a collaborator of "${room}"`);
      return { user, role };
    },
  );

  app.put(
    '/v1/rooms/:room/collaborators/:user',
    {
      config: { access: 'owner' },
      schema: {
        params: z.object({ room: roomParam, user: userParam }),
        body: z.object({ role: z.enum(ROLES) }),
        response: { 200: collaborator },
      },
    },
    async (request) => {
      const { room, user } = request.params;
      await deps.access.setCollaborator(room, user, request.body.role);
      return { user, role: request.body.role };
    },
  );

  app.delete(
    '/v1/rooms/:room/collaborators/:user',
    { config: { access: 'owner' }, schema: { params: z.object({ room: roomParam, user: userParam }) } },
    async (request, reply) => {
      const { room, user } = request.params;
      if (!(await deps.access.removeCollaborator(room, user))) {
        throw new TandemError('not_found', `"${user}" is not a collaborator of "${room}"`);
      }
      return reply.status(204).send();
    },
  );
  done();
};
