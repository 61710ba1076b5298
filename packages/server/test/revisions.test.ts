import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { ConfigInput } from '../src/ops/config.js';
import type { TandemServer } from '../src/server.js';
import { eventually } from './support/eventually.js';
import { devUser } from './support/auth.js';
import { startTestServer } from './support/server.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';

const as = devUser;

describe('revisions', () => {
  let server: TandemServer;
  const start = (config: ConfigInput = {}) => startTestServer({ devAuth: true, revisionIntervalMs: 0, ...config });
  const call = async (method: string, path: string, body?: unknown, headers = as('ada')) => {
    const res = await fetch(`${server.httpUrl}${path}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };
  const join = async (room: string, user: string): Promise<TestPeer> => {
    const p = await connectPeer(`${server.syncUrl}/${room}?user=${user}`);
    await eventually(() => expect(p.synced).toBe(true));
    return p;
  };

  it('creates, lists and shows revisions; answers 400/401/403/404', async () => {
    server = await start();
    expect((await call('POST', '/v1/rooms/none/revisions', {})).status).toBe(404);
    await call('PUT', '/v1/rooms/doc/content?format=json', { title: 'First' });
    const created = await call('POST', '/v1/rooms/doc/revisions', { label: 'draft 1' });
    expect(created).toMatchObject({ status: 201, json: { id: 1, label: 'draft 1', user: 'ada' } });
    await call('PUT', '/v1/rooms/doc/content?format=json', { title: 'Second' });
    await call('POST', '/v1/rooms/doc/revisions', {});
    const list = await call('GET', '/v1/rooms/doc/revisions');
    expect((list.json!.revisions as { id: number; label: string }[]).map((r) => [r.id, r.label])).toEqual([
      [2, 'manual'],
      [1, 'draft 1'],
    ]);
    expect((await call('GET', '/v1/rooms/doc/revisions/1')).json).toMatchObject({ content: { title: 'First' } });
    const text = await fetch(`${server.httpUrl}/v1/rooms/doc/revisions/1?format=text&field=title`, {
      headers: as('ada'),
    });
    expect(await text.text()).toBe('First');
    expect((await call('GET', '/v1/rooms/doc/revisions/9')).status).toBe(404);
    expect((await call('GET', '/v1/rooms/doc/revisions/zero')).status).toBe(400);
    expect((await call('POST', '/v1/rooms/doc/revisions', {}, as('vic', 'viewer'))).status).toBe(403);
    expect(
      (await call('GET', '/v1/rooms/doc/revisions', undefined, { 'x-user-id': '', 'x-user-role': 'editor' })).status,
    ).toBe(401);
    expect((await call('POST', '/v1/rooms/doc/revisions/9/restore')).status).toBe(404);
    const events = (await call('GET', '/v1/rooms/doc/events')).json!.events as { type: string }[];
    expect(events.filter((e) => e.type === 'collab.revision_created')).toHaveLength(2);
  });

  it('restore while two clients edit: everyone converges on the restored content plus later edits', async () => {
    server = await start();
    const a = await join('team', 'ann');
    const b = await join('team', 'ben');
    a.doc.getText('t').insert(0, 'version one');
    await eventually(() => expect(b.text).toBe('version one'));
    a.doc.getMap('m').set('status', 'draft');
    await eventually(() => expect(a.acked).toBe(a.sent));
    const saved = await call('POST', '/v1/rooms/team/revisions', { label: 'v1' });
    const id = saved.json!.id as number;

    // Both keep typing while the restore happens.
    let typing = true;
    const typer = (p: TestPeer, s: string) =>
      (async () => {
        while (typing) {
          p.doc.getText('t').insert(p.text.length, s);
          await new Promise((r) => setTimeout(r, 3));
        }
      })();
    const loops = [typer(a, 'a'), typer(b, 'b')];
    await new Promise((r) => setTimeout(r, 30));
    a.doc.getMap('m').set('status', 'final');
    const restored = await call('POST', `/v1/rooms/team/revisions/${id}/restore`);
    typing = false;
    await Promise.all(loops);
    expect(restored.status).toBe(200);

    // A later edit: made once every edit typed during the restore has settled on both clients. (Edits
    // still in flight would be concurrent with it, and Yjs may place those on either side of it.)
    await eventually(() => {
      expect(a.acked).toBe(a.sent);
      expect(b.acked).toBe(b.sent);
      expect(a.text).toBe(b.text);
      expect(a.text.replace(/[ab]/g, '')).toBe('version one');
    });
    a.doc.getText('t').insert(0, '>> ');
    await eventually(() => {
      expect(a.text).toBe(b.text);
      expect(server.registry.get('team')!.doc.getText('t').toString()).toBe(a.text);
    });
    // Restored content plus edits made after or during the restore (the typists' a/b, which may land on
    // either side of it since their anchors were deleted) — and nothing else of the pre-restore text.
    expect(a.text.replace(/[ab]/g, '')).toBe('>> version one');
    expect(a.text.startsWith('>> ')).toBe(true);
    expect(a.doc.getMap('m').get('status')).toBe('draft');

    const backup = restored.json!.backupRevision as { id: number; label: string };
    expect(backup.label).toBe(`before restoring revision ${id}`);
    const before = await call('GET', `/v1/rooms/team/revisions/${backup.id}`);
    expect((before.json!.content as { m: { status: string } }).m.status).toBe('final');
    expect((before.json!.content as { t: string }).t.startsWith('version one')).toBe(true);
  });

  it('restores every kind of top-level type', async () => {
    server = await start();
    const p = await join('kinds', 'kim');
    const doc = p.doc;
    doc.getText('text').insert(0, 'hello', { bold: true });
    doc.getArray('list').push([1, 'two', { three: 3 }]);
    doc.getMap('map').set('k', 'v');
    const frag = doc.getXmlFragment('xml');
    const para = new Y.XmlElement('p');
    para.insert(0, [new Y.XmlText('para')]);
    frag.insert(0, [para]);
    await eventually(() => expect(p.acked).toBe(p.sent));
    const id = (await call('POST', '/v1/rooms/kinds/revisions', {})).json!.id as number;
    const snapshot = (await call('GET', '/v1/rooms/kinds/content')).json!.content;
    doc.getText('text').insert(5, ' world');
    doc.getArray('list').delete(0, 2);
    doc.getMap('map').set('extra', true);
    frag.delete(0, 1);
    doc.getText('fresh').insert(0, 'new root');
    await eventually(() => expect(p.acked).toBe(p.sent));
    expect((await call('POST', `/v1/rooms/kinds/revisions/${id}/restore`)).status).toBe(200);
    expect((await call('GET', '/v1/rooms/kinds/content')).json!.content).toEqual(snapshot);
    await eventually(() =>
      expect(doc.getText('text').toDelta()).toEqual([{ insert: 'hello', attributes: { bold: true } }]),
    );
  });

  it('takes automatic revisions of changed rooms', async () => {
    server = await start({ revisionIntervalMs: 100 });
    const p = await join('auto', 'al');
    p.doc.getText('t').insert(0, 'changed');
    await eventually(async () => {
      const list = (await call('GET', '/v1/rooms/auto/revisions')).json!.revisions as { label: string }[];
      expect(list.map((r) => r.label)).toContain('auto');
    });
    const count = ((await call('GET', '/v1/rooms/auto/revisions')).json!.revisions as unknown[]).length;
    await new Promise((r) => setTimeout(r, 300));
    // No change since: no new automatic revision.
    expect(((await call('GET', '/v1/rooms/auto/revisions')).json!.revisions as unknown[]).length).toBe(count);
  });
});
