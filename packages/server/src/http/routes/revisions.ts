import { z } from 'zod';
import * as Y from 'yjs';
import { TandemError } from '../../errors.js';
import { replaceContent } from '../../rooms/doc-edit.js';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../http-deps.js';
import { roomCaller } from '../route-access.js';
import { requireRoom } from '../request-access.js';
import { renderDoc, renderQuery, writeRoom } from '../room-content.js';
import { roomParam } from '../route-params.js';

const revisionInfo = z.object({
  id: z.number(),
  label: z.string(),
  ts: z.number(),
  user: z.string().nullable(),
  size: z.number(),
});
const revisionParams = z.object({ room: roomParam, id: z.coerce.number().int().min(1) });

/** The services revisionRoutes use: nothing else reaches them. */
export type RevisionRoutesDeps = Pick<HttpDeps, 'registry' | 'revisions' | 'store' | 'access'>;

export const revisionRoutes: FastifyPluginCallbackZod<RevisionRoutesDeps> = (app, deps, done) => {
  app.post(
    '/v1/rooms/:room/revisions',
    {
      config: { access: 'editor' },
      schema: {
        summary: 'Save a named revision of the current document',
        params: z.object({ room: roomParam }),
        body: z.object({ label: z.string().min(1).max(200).default('manual') }).default({ label: 'manual' }),
        response: { 201: revisionInfo },
      },
    },
    async (request, reply) => {
      const { room } = request.params;
      const { principal } = roomCaller(request);
      await requireRoom(deps, room);
      const info = await deps.registry.use(room, (r) => deps.revisions.create(r, request.body.label, principal.user));
      return reply.status(201).send(info);
    },
  );

  app.get(
    '/v1/rooms/:room/revisions',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Revisions, newest first',
        params: z.object({ room: roomParam }),
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
        response: { 200: z.object({ revisions: z.array(revisionInfo) }) },
      },
    },
    async (request) => {
      const { room } = request.params;
      await requireRoom(deps, room);
      return { revisions: await deps.store.listRevisions(room, request.query) };
    },
  );

  app.get(
    '/v1/rooms/:room/revisions/:id',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'A revision as JSON, Yjs state or one text field (same formats as content)',
        params: revisionParams,
        querystring: renderQuery,
      },
    },
    async (request, reply) => {
      const { room, id } = request.params;
      const revision = await deps.store.getRevision(room, id);
      if (!revision) throw new TandemError('not_found', `room "${room}" has no revision ${id}`);
      const doc = new Y.Doc();
      Y.applyUpdate(doc, revision.state);
      void reply.header('x-revision-label', encodeURIComponent(revision.label));
      return renderDoc(reply, doc, request.query);
    },
  );

  app.post(
    '/v1/rooms/:room/revisions/:id/restore',
    {
      config: { access: 'editor' },
      schema: {
        summary: 'Restore a revision as a new change (live clients converge); the prior state is saved first',
        params: revisionParams,
        response: { 200: z.object({ version: z.string(), backupRevision: revisionInfo }) },
      },
    },
    async (request) => {
      const { room, id } = request.params;
      const access = roomCaller(request);
      const revision = await deps.store.getRevision(room, id);
      if (!revision) throw new TandemError('not_found', `room "${room}" has no revision ${id}`);
      const target = new Y.Doc();
      Y.applyUpdate(target, revision.state);
      let backup: z.infer<typeof revisionInfo> | null = null;
      const { version } = await writeRoom(deps, access, room, undefined, async (r) => {
        backup = await deps.revisions.create(r, `before restoring revision ${id}`, access.principal.user);
        r.assertCapacity(revision.state.length);
        r.doc.transact(() => replaceContent(r.doc, target), 'restore');
      });
      return { version, backupRevision: backup! };
    },
  );
  done();
};
