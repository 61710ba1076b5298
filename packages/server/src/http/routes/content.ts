import { z } from 'zod';
import * as Y from 'yjs';
import { TandemError } from '../../errors.js';
import { applyTextOps, importJson, replaceText, type TextOp } from '../../rooms/doc-edit.js';
import { checkUpdate } from '../../yjs/update-check.js';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { HttpDeps } from '../http-deps.js';
import { roomCaller } from '../route-access.js';
import { requireRoom } from '../request-access.js';
import { expectedVersion, fieldParam, roomParam } from '../route-params.js';
import { renderDoc, renderQuery, writeRoom } from '../room-content.js';

const versionBody = z.object({ version: z.string() });

const textOp = z.union([
  z.object({ retain: z.number().int().min(1) }).strict(),
  z.object({ delete: z.number().int().min(1) }).strict(),
  z.object({ insert: z.string().min(1), attributes: z.record(z.string(), z.unknown()).optional() }).strict(),
]);

/** The services contentRoutes use: nothing else reaches them. */
export type ContentRoutesDeps = Pick<HttpDeps, 'config' | 'registry' | 'store' | 'access'>;

export const contentRoutes: FastifyPluginCallbackZod<ContentRoutesDeps> = (app, deps, done) => {
  app.get(
    '/v1/rooms/:room/content',
    {
      config: { access: 'viewer' },
      schema: {
        summary: 'Read the document as JSON, raw Yjs state, or one text field as plain text',
        params: z.object({ room: roomParam }),
        querystring: renderQuery,
      },
    },
    async (request, reply) => {
      const { room } = request.params;
      await requireRoom(deps, room);
      return deps.registry.use(room, (r) => renderDoc(reply, r.doc, request.query));
    },
  );

  app.put(
    '/v1/rooms/:room/content',
    {
      config: { access: 'editor' },
      schema: {
        summary: 'Import or replace content: a Yjs update (merged), plain text (replaces one field), or JSON',
        description:
          'format=yjs: body is the update as application/octet-stream, or {"update": "<base64>"} as JSON. ' +
          'format=text: text/plain body replaces the text `field`. format=json: {"<root>": string | array | object} ' +
          'replaces those top-level types. Connected clients see the change live. Optional If-Match / baseVersion.',
        params: z.object({ room: roomParam }),
        querystring: z.object({
          format: z.enum(['json', 'yjs', 'text']).default('json'),
          field: fieldParam.optional(),
          baseVersion: z.string().optional(),
        }),
        body: z.unknown(),
        response: { 200: versionBody },
      },
    },
    async (request) => {
      const { room } = request.params;
      const { format, field, baseVersion } = request.query;
      const expected = expectedVersion(request.headers['if-match'], baseVersion);
      const body = request.body;
      const access = roomCaller(request);
      if (format === 'yjs') {
        const update = yjsBody(body);
        return writeRoom(deps, access, room, expected, (r) => {
          r.assertCapacity(update.length);
          checkUpdate(update);
          try {
            Y.applyUpdate(r.doc, update, 'rest');
          } catch (cause) {
            throw new TandemError('invalid_update', 'body is not a valid Yjs update', { cause });
          }
        });
      }
      if (format === 'text') {
        if (!field) throw new TandemError('invalid_request', 'format=text needs field=<name of a text>');
        if (typeof body !== 'string') throw new TandemError('invalid_request', 'format=text needs a text/plain body');
        return writeRoom(deps, access, room, expected, (r) => {
          r.assertCapacity(Buffer.byteLength(body));
          r.doc.transact(() => replaceText(r.doc, field, body), 'rest');
        });
      }
      const content = z.record(z.string(), z.unknown()).safeParse(body);
      if (!content.success) throw new TandemError('invalid_request', 'format=json needs a JSON object body');
      return writeRoom(deps, access, room, expected, (r) => {
        r.assertCapacity(Buffer.byteLength(JSON.stringify(content.data)));
        r.doc.transact(() => importJson(r.doc, content.data), 'rest');
      });
    },
  );

  app.post(
    '/v1/rooms/:room/text/:field/ops',
    {
      config: { access: 'editor' },
      schema: {
        summary: 'Apply a text delta ([{retain}, {insert, attributes?}, {delete}]) to a Y.Text',
        params: z.object({ room: roomParam, field: fieldParam }),
        body: z.union([
          z.array(textOp).min(1),
          z.object({ ops: z.array(textOp).min(1), baseVersion: z.string().optional() }),
        ]),
        response: { 200: versionBody },
      },
    },
    async (request) => {
      const { room, field } = request.params;
      const access = roomCaller(request);
      const size = Number(request.headers['content-length'] ?? JSON.stringify(request.body).length);
      if (size > deps.config.maxOpBytes) {
        throw new TandemError('message_too_big', `operations are limited to ${deps.config.maxOpBytes} bytes`);
      }
      const body = request.body;
      const ops = (Array.isArray(body) ? body : body.ops) as TextOp[];
      const expected = expectedVersion(request.headers['if-match'], Array.isArray(body) ? undefined : body.baseVersion);
      return writeRoom(deps, access, room, expected, (r) => {
        r.assertCapacity(size);
        r.doc.transact(() => applyTextOps(r.doc, field, ops), 'rest');
      });
    },
  );
  done();
};

function yjsBody(body: unknown): Uint8Array {
  if (Buffer.isBuffer(body)) return new Uint8Array(body);
  const parsed = z.object({ update: z.string().base64() }).safeParse(body);
  if (!parsed.success) {
    throw new TandemError(
      'invalid_request',
      'format=yjs needs an application/octet-stream body or {"update": "<base64>"}',
    );
  }
  return new Uint8Array(Buffer.from(parsed.data.update, 'base64'));
}
