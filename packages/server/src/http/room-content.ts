import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import * as Y from 'yjs';
import { TandemError } from '../errors.js';
import { docToJson, docVersion, typedRoot } from '../rooms/doc-view.js';
import type { Room } from '../rooms/room.js';
import type { HttpDeps } from './http-deps.js';
import type { RoomCaller } from './route-access.js';
import { fieldParam } from './route-params.js';

export const renderQuery = z.object({
  format: z.enum(['json', 'yjs', 'text']).default('json'),
  field: fieldParam.optional(),
  encoding: z.enum(['binary', 'base64']).default('binary').describe('for format=yjs'),
});

/** Sends a document as JSON, Yjs state (binary or base64) or one text field, with its version as ETag. */
export function renderDoc(reply: FastifyReply, doc: Y.Doc, query: z.infer<typeof renderQuery>): FastifyReply {
  const { format, field, encoding } = query;
  const version = docVersion(doc);
  void reply.header('etag', `"${version}"`);
  if (format === 'yjs') {
    const state = Y.encodeStateAsUpdate(doc);
    if (encoding === 'base64') return reply.send({ version, update: Buffer.from(state).toString('base64') });
    return reply.type('application/octet-stream').send(Buffer.from(state));
  }
  if (format === 'text') {
    if (!field) throw new TandemError('invalid_request', 'format=text needs field=<name of a text>');
    const root = typedRoot(doc, field);
    if (root !== null && !(root instanceof Y.Text))
      throw new TandemError('invalid_request', `"${field}" is not a text`);
    return reply.type('text/plain; charset=utf-8').send(root?.toString() ?? '');
  }
  return reply.send({ version, content: docToJson(doc) });
}

/**
 * Server-side writes: checks the version, applies the change, and answers once it is durable with the
 * new version. The creator of a new room becomes its owner, as over a socket.
 */
export async function writeRoom(
  deps: Pick<HttpDeps, 'registry' | 'access'>,
  { principal, role }: RoomCaller,
  room: string,
  expected: string | undefined,
  edit: (room: Room) => void | Promise<void>,
): Promise<{ version: string }> {
  return deps.registry.use(room, async (r) => {
    if (expected !== undefined && docVersion(r.doc) !== expected) {
      throw new TandemError('version_conflict', 'the document changed since that version; fetch it and retry');
    }
    await edit(r);
    await r.flush();
    if (r.claimNew()) await deps.access.claimIfUnowned(principal, room, role);
    return { version: docVersion(r.doc) };
  });
}
