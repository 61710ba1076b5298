import { beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { TandemServer } from '../src/server.js';
import { eventually } from './support/eventually.js';
import { devUser } from './support/auth.js';
import { startTestServer } from './support/server.js';
import { stockProvider } from './support/stock-provider.js';
import { connectPeer } from './support/test-peer.js';

/** dev auth: the X-User-Id header is the identity; X-User-Role the role on every room. */
const as = devUser;

describe('REST: rooms and content', () => {
  let server: TandemServer;
  beforeEach(async () => {
    server = await startTestServer({ devAuth: true, maxOpBytes: 2048 });
  });
  const call = async (
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: unknown; raw?: RequestInit['body']; type?: string } = {},
  ) => {
    const headers: Record<string, string> = { ...as('ada'), ...init.headers };
    let body: RequestInit['body'] | undefined = init.raw;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = 'application/json';
    }
    if (init.type) headers['content-type'] = init.type;
    const res = await fetch(`${server.httpUrl}${path}`, { method, headers, body });
    const text = res.headers.get('content-type')?.includes('octet-stream') ? null : await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, json, res };
  };

  it('answers 401, 403, 404 and 400 with coded errors', async () => {
    expect(await call('GET', '/v1/rooms/nope/content', { headers: { 'x-user-id': '' } })).toMatchObject({
      status: 401,
      json: { error: { code: 'unauthenticated' } },
    });
    expect(await call('GET', '/v1/rooms/nope/content')).toMatchObject({
      status: 404,
      json: { error: { code: 'room_not_found' } },
    });
    expect(await call('GET', '/v1/rooms/nope')).toMatchObject({ status: 404 });
    expect(await call('GET', '/v1/rooms/bad%20name/content')).toMatchObject({
      status: 400,
      json: { error: { code: 'invalid_request' } },
    });
    expect(
      await call('PUT', '/v1/rooms/r/content?format=text&field=t', {
        headers: as('vic', 'viewer'),
        raw: 'x',
        type: 'text/plain',
      }),
    ).toMatchObject({
      status: 403,
      json: { error: { code: 'forbidden' } },
    });
    expect(await call('PUT', '/v1/rooms/r/content?format=text', { raw: 'x', type: 'text/plain' })).toMatchObject({
      status: 400,
    });
    expect(await call('PUT', '/v1/rooms/r/content?format=json', { body: [1, 2] })).toMatchObject({ status: 400 });
    expect(
      await call('PUT', '/v1/rooms/r/content?format=yjs', {
        raw: new Uint8Array([9, 9, 9]),
        type: 'application/octet-stream',
      }),
    ).toMatchObject({
      status: 400,
      json: { error: { code: 'invalid_update' } },
    });
  });

  it('a REST text edit reaches a stock client live; a client edit shows in GET content', async () => {
    const doc = new Y.Doc();
    const provider = stockProvider(`${server.syncUrl}`, 'live', doc);
    provider.params = { user: 'bob' };
    provider.disconnect();
    provider.connect();
    await eventually(() => expect(provider.synced).toBe(true));

    const put = await call('PUT', '/v1/rooms/live/content?format=text&field=body', {
      raw: 'Hello world',
      type: 'text/plain',
    });
    expect(put.status).toBe(200);
    await eventually(() => expect(doc.getText('body').toString()).toBe('Hello world'));

    const ops = await call('POST', '/v1/rooms/live/text/body/ops', {
      body: [{ retain: 6 }, { delete: 5 }, { insert: 'Tandem' }],
    });
    expect(ops.status).toBe(200);
    await eventually(() => expect(doc.getText('body').toString()).toBe('Hello Tandem'));

    doc.getMap('meta').set('title', 'Greeting');
    await eventually(async () => {
      const got = await call('GET', '/v1/rooms/live/content');
      expect(got.json).toMatchObject({ content: { body: 'Hello Tandem', meta: { title: 'Greeting' } } });
    });
    const text = await call('GET', '/v1/rooms/live/content?format=text&field=body');
    expect(text.json).toBe('Hello Tandem');
    expect(text.res.headers.get('etag')).toMatch(/^".+"$/);
  });

  it('checks baseVersion / If-Match and answers 409 when stale', async () => {
    const first = await call('PUT', '/v1/rooms/v/content?format=json', { body: { title: 'One' } });
    const v1 = (first.json as { version: string }).version;
    const second = await call('POST', '/v1/rooms/v/text/title/ops', {
      body: { ops: [{ retain: 3 }, { insert: '!' }], baseVersion: v1 },
    });
    expect(second.status).toBe(200);
    const v2 = (second.json as { version: string }).version;
    expect(v2).not.toBe(v1);
    expect(
      await call('POST', '/v1/rooms/v/text/title/ops', { body: { ops: [{ insert: 'x' }], baseVersion: v1 } }),
    ).toMatchObject({
      status: 409,
      json: { error: { code: 'version_conflict' } },
    });
    expect(
      await call('PUT', '/v1/rooms/v/content?format=text&field=title', {
        raw: 'Two',
        type: 'text/plain',
        headers: { 'if-match': `"${v1}"` },
      }),
    ).toMatchObject({ status: 409 });
    expect(
      await call('PUT', '/v1/rooms/v/content?format=text&field=title', {
        raw: 'Two',
        type: 'text/plain',
        headers: { 'if-match': `"${v2}"` },
      }),
    ).toMatchObject({ status: 200 });
    // Deletions change the version too.
    const before = (await call('GET', '/v1/rooms/v')).json as { version: string };
    await call('POST', '/v1/rooms/v/text/title/ops', { body: [{ delete: 1 }] });
    const after = (await call('GET', '/v1/rooms/v')).json as { version: string };
    expect(after.version).not.toBe(before.version);
  });

  it('refuses ops past the end, of the wrong shape, or too large', async () => {
    await call('PUT', '/v1/rooms/o/content?format=text&field=t', { raw: 'abc', type: 'text/plain' });
    expect(await call('POST', '/v1/rooms/o/text/t/ops', { body: [{ retain: 10 }, { insert: 'x' }] })).toMatchObject({
      status: 400,
    });
    expect(await call('POST', '/v1/rooms/o/text/t/ops', { body: [{ retain: 1, insert: 'x' }] })).toMatchObject({
      status: 400,
    });
    expect(await call('POST', '/v1/rooms/o/text/t/ops', { body: [{ insert: 'y'.repeat(4000) }] })).toMatchObject({
      status: 413,
      json: { error: { code: 'message_too_big' } },
    });
    await call('PUT', '/v1/rooms/o/content?format=json', { body: { list: [1, 2] } });
    expect(await call('POST', '/v1/rooms/o/text/list/ops', { body: [{ insert: 'x' }] })).toMatchObject({ status: 400 });
    expect((await call('GET', '/v1/rooms/o/content?format=text&field=t')).json).toBe('abc');
  });

  it('round-trips Yjs state as binary and base64', async () => {
    const src = new Y.Doc();
    src.getText('t').insert(0, 'binary');
    src.getArray('a').push([1, 2, 3]);
    const put = await call('PUT', '/v1/rooms/y/content?format=yjs', {
      raw: Y.encodeStateAsUpdate(src),
      type: 'application/octet-stream',
    });
    expect(put.status).toBe(200);
    const got = await fetch(`${server.httpUrl}/v1/rooms/y/content?format=yjs`, { headers: as('ada') });
    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(await got.arrayBuffer()));
    expect(doc.getText('t').toString()).toBe('binary');
    const b64 = (await call('GET', '/v1/rooms/y/content?format=yjs&encoding=base64')).json as { update: string };
    const other = new Y.Doc();
    other.getMap('m').set('k', 'v');
    await call('PUT', '/v1/rooms/y2/content?format=yjs', { body: { update: b64.update } });
    await call('PUT', '/v1/rooms/y2/content?format=yjs', {
      body: { update: Buffer.from(Y.encodeStateAsUpdate(other)).toString('base64') },
    });
    expect((await call('GET', '/v1/rooms/y2/content')).json).toMatchObject({
      content: { t: 'binary', a: [1, 2, 3], m: { k: 'v' } },
    });
  });

  it('lists rooms, shows room details and presence, and deletes a room (owner)', async () => {
    await call('PUT', '/v1/rooms/alpha/content?format=json', { body: { x: 'a' } });
    await call('PUT', '/v1/rooms/beta/content?format=json', { body: { x: 'b' }, headers: as('bob') });
    const peer = await connectPeer(`${server.syncUrl}/alpha?user=carl`);
    peer.awareness.setLocalStateField('name', 'Carl');
    await eventually(async () => {
      const presence = await call('GET', '/v1/rooms/alpha/presence');
      expect(presence.json).toEqual({
        presence: [{ clientId: peer.doc.clientID, user: 'carl', state: { name: 'Carl' } }],
      });
    });
    const details = await call('GET', '/v1/rooms/alpha');
    expect(details.json).toMatchObject({ name: 'alpha', connectedUsers: ['carl'], peers: 1 });
    const page1 = await call('GET', '/v1/rooms?limit=1');
    expect(page1.json).toMatchObject({ rooms: [{ name: 'alpha' }], next: 'alpha' });
    expect((await call('GET', '/v1/rooms?limit=1&after=alpha')).json).toMatchObject({ rooms: [{ name: 'beta' }] });

    // ada created alpha, so she owns it; bob does not.
    expect(await call('DELETE', '/v1/rooms/alpha', { headers: as('bob') })).toMatchObject({ status: 403 });
    expect((await call('DELETE', '/v1/rooms/alpha')).status).toBe(204);
    expect((await peer.closed).code).toBe(4410);
    expect(await call('GET', '/v1/rooms/alpha/content')).toMatchObject({ status: 404 });
    expect(await call('DELETE', '/v1/rooms/alpha', { headers: as('root', 'owner') })).toMatchObject({ status: 404 });
  });
});
