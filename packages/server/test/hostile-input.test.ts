import { encodeAwareness, encodeSyncUpdate } from '@tandem/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { TandemServer } from '../src/server.js';
import { MemoryStore } from '../src/storage/memory/memory-store.js';
import { api, devUser } from './support/auth.js';
import { eventually } from './support/eventually.js';
import { awarenessUpdate, embedBombUpdate, nestedJson, nestedValue } from './support/hostile.js';
import { startTestServer, tempDir } from './support/server.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';

// One attack pass per path that takes client JSON or Yjs values: each must be refused with its coded
// error, leave the process up and the room joinable, and keep every edit that was delivered.
describe('hostile input', () => {
  let server: TandemServer | null = null;
  const join = async (room: string, headers: Record<string, string> = devUser('ada')): Promise<TestPeer> => {
    const p = await connectPeer(`${server!.syncUrl}/${room}`, { headers });
    await eventually(() => expect(p.synced).toBe(true));
    return p;
  };
  const sqliteDir = (): string => {
    const d = tempDir();
    return d.dir;
  };

  /** Restarts the server on the same data dir and returns what a fresh joiner of `room` sees. */
  async function afterRestart(dataDir: string, room: string): Promise<Y.Doc> {
    await server!.drain();
    server = await startTestServer({ store: 'sqlite', dataDir, devAuth: true });
    return (await join(room)).doc;
  }

  it("a viewer's awareness state nested 5,000 deep is refused (1007); the editor's edit is kept", async () => {
    const dataDir = sqliteDir();
    // Presence size allows the 10 KB frame, so it is the nesting that is refused.
    server = await startTestServer({ store: 'sqlite', dataDir, devAuth: true, maxPresenceBytes: 16_384 });
    const editor = await join('aw');
    const viewer = await join('aw', devUser('vic', 'viewer'));
    editor.doc.getText('t').insert(0, 'kept');
    viewer.sendRaw(encodeAwareness(awarenessUpdate(viewer.doc.clientID, 1, nestedJson(5000))));
    expect((await viewer.closed).code).toBe(1007);
    expect(viewer.received).toContainEqual(expect.objectContaining({ type: 'error', code: 'invalid_awareness' }));
    await eventually(() => expect(editor.acked).toBe(editor.sent));
    const doc = await afterRestart(dataDir, 'aw');
    expect(doc.getText('t').toString()).toBe('kept');
  });

  it('a presence state over --max-presence-bytes closes with 1009 presence_too_large', async () => {
    server = await startTestServer({ devAuth: true, maxPresenceBytes: 1024 });
    const p = await join('big-presence');
    p.sendRaw(encodeAwareness(awarenessUpdate(p.doc.clientID, 1, JSON.stringify({ n: 'x'.repeat(2000) }))));
    expect((await p.closed).code).toBe(1009);
    expect(p.received).toContainEqual(expect.objectContaining({ type: 'error', code: 'presence_too_large' }));
  });

  it('a room holds at most --max-room-presence-bytes of presence; a joiner gets a bounded frame', async () => {
    server = await startTestServer({ devAuth: true, maxPresenceBytes: 4096, maxRoomPresenceBytes: 10_000 });
    const state = JSON.stringify({ n: 'x'.repeat(3000) });
    const publishers: TestPeer[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await join('crowd', devUser(`u${i}`));
      p.sendRaw(encodeAwareness(awarenessUpdate(p.doc.clientID, 1, state)));
      publishers.push(p);
    }
    // Three fit (3 × ~3 KB), the fourth and fifth are dropped and told so; nobody is disconnected.
    await eventually(() =>
      expect(
        publishers.filter((p) => p.received.some((m) => m.type === 'error' && m.code === 'presence_full')),
      ).toHaveLength(2),
    );
    const joiner = await join('crowd', devUser('late'));
    const others = (): number =>
      [...joiner.awareness.getStates().keys()].filter((id) => id !== joiner.doc.clientID).length;
    await eventually(() => expect(others()).toBe(3));
    for (const p of publishers) expect(p.closeEvent).toBeNull();
    expect((await server.metrics.presenceDrops.get()).values[0]?.value).toBe(2);
  });

  it.each([
    ['an embed nested 100,000 deep', () => embedBombUpdate(100_000)],
    ['a map value nested 1,000 deep (ContentAny)', () => mapUpdate(nestedValue(1000))],
    ['a text format attribute nested 1,000 deep (ContentFormat)', () => formatUpdate(nestedValue(1000))],
  ])('a Yjs update carrying %s is refused (1007) and never stored; the room stays readable', async (_name, make) => {
    const dataDir = sqliteDir();
    server = await startTestServer({ store: 'sqlite', dataDir, devAuth: true });
    const author = await join('poison');
    author.doc.getText('t').insert(0, 'before');
    await eventually(() => expect(author.acked).toBe(author.sent));
    const attacker = await join('poison', devUser('mal'));
    // In one write with an ordinary update: the batch it would share must not throw either.
    const ordinary = new Y.Doc();
    ordinary.getText('other').insert(0, 'fine');
    attacker.ws.send(encodeSyncUpdate(Y.encodeStateAsUpdate(ordinary)));
    attacker.ws.send(encodeSyncUpdate(make()));
    expect((await attacker.closed).code).toBe(1007);
    expect(attacker.received).toContainEqual(expect.objectContaining({ type: 'error', code: 'invalid_update' }));

    const joiner = await join('poison', devUser('bob'));
    expect(joiner.doc.getText('t').toString()).toBe('before');
    const read = await api(server.httpUrl, 'GET', '/v1/rooms/poison/content?format=yjs', { headers: devUser('bob') });
    expect(read.status).toBe(200);
    expect((await api(server.httpUrl, 'GET', '/v1/rooms/poison', { headers: devUser('bob') })).status).toBe(200);
    const revision = await api(server.httpUrl, 'POST', '/v1/rooms/poison/revisions', {
      headers: devUser('ada'),
      body: { label: 'after attack' },
    });
    expect(revision.status).toBe(201);
    const doc = await afterRestart(dataDir, 'poison');
    expect(doc.getText('t').toString()).toBe('before');
  });

  it('a room poisoned before these checks existed loads without the poison and compacts it away', async () => {
    const store = new MemoryStore();
    const good = new Y.Doc();
    good.getText('t').insert(0, 'kept');
    await store.appendUpdate('old-poison', Y.encodeStateAsUpdate(good));
    await store.appendUpdate('old-poison', embedBombUpdate(100_000));
    server = await startTestServer({ devAuth: true, compactAfterUpdates: 1 }, { store });
    const joiner = await join('old-poison');
    expect(joiner.doc.getText('t').toString()).toBe('kept');
    joiner.doc.getText('t').insert(4, '!');
    await eventually(async () => expect((await store.loadRoom('old-poison'))!.snapshot).not.toBeNull());
    const loaded = (await store.loadRoom('old-poison'))!;
    const reloaded = new Y.Doc();
    Y.applyUpdate(reloaded, loaded.snapshot!);
    for (const u of loaded.updates) Y.applyUpdate(reloaded, u);
    expect(reloaded.getText('t').toString()).toBe('kept!');
    expect(() => Y.encodeStateAsUpdate(reloaded)).not.toThrow();
  });

  it('PUT content?format=yjs with a nested embed answers 400 and integrates nothing', async () => {
    server = await startTestServer({ devAuth: true });
    const author = await join('put-poison');
    author.doc.getText('t').insert(0, 'ok');
    await eventually(() => expect(author.acked).toBe(author.sent));
    const res = await fetch(`${server.httpUrl}/v1/rooms/put-poison/content?format=yjs`, {
      method: 'PUT',
      headers: { ...devUser('ada'), 'content-type': 'application/octet-stream' },
      body: embedBombUpdate(100_000),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_update');
    const read = await api(server.httpUrl, 'GET', '/v1/rooms/put-poison/content?format=yjs', {
      headers: devUser('ada'),
    });
    expect(read.status).toBe(200);
    const joiner = await join('put-poison', devUser('bob'));
    expect(joiner.doc.getText('t').toString()).toBe('ok');
  });

  it.each([
    [
      'PUT content?format=json nested 50,000 deep',
      'PUT',
      '/v1/rooms/j/content?format=json',
      `{"a":${nestedJson(50_000)}}`,
    ],
    ['event data nested 5,000 deep', 'POST', '/v1/rooms/j/events', `{"type":"x","data":${nestedJson(5000)}}`],
    ['broadcast data nested 5,000 deep', 'POST', '/v1/rooms/j/broadcast', `{"type":"x","data":${nestedJson(5000)}}`],
    [
      'text-op attributes nested 5,000 deep',
      'POST',
      '/v1/rooms/j/text/t/ops',
      `[{"insert":"a","attributes":{"b":${nestedJson(5000)}}}]`,
    ],
  ])('REST: %s answers 400 invalid_request, not 500', async (_name, method, path, body) => {
    server = await startTestServer({ devAuth: true });
    const res = await fetch(`${server.httpUrl}${path}`, {
      method,
      headers: { ...devUser('ada'), 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    // Just inside the limit is accepted.
    const ok = await api(server.httpUrl, 'PUT', '/v1/rooms/j/content?format=json', {
      headers: devUser('ada'),
      body: { a: nestedValue(60) },
    });
    expect(ok.status).toBe(200);
  });

  it("a flush that throws closes only that room's peers (1013 room_reset); the delivered edit is stored", async () => {
    const dataDir = sqliteDir();
    server = await startTestServer({ store: 'sqlite', dataDir, devAuth: true });
    const a = await join('fragile');
    const b = await join('fragile', devUser('bob'));
    const neighbour = await join('next-door');
    let thrown = 0;
    const stopThrowing = server.registry.docChanged.subscribe(() => {
      thrown++;
      throw new Error('boom inside a flush');
    });
    a.doc.getText('t').insert(0, 'delivered');
    expect((await b.closed).code).toBe(1013);
    expect((await a.closed).code).toBe(1013);
    expect(thrown).toBe(1);
    expect(b.doc.getText('t').toString()).toBe('delivered');
    expect(neighbour.closeEvent).toBeNull();
    stopThrowing();
    // The room reloads from the store for the next joiner, with what its peers were sent.
    const again = await join('fragile', devUser('cy'));
    expect(again.doc.getText('t').toString()).toBe('delivered');
    const doc = await afterRestart(dataDir, 'fragile');
    expect(doc.getText('t').toString()).toBe('delivered');
  });
});

function mapUpdate(value: unknown): Uint8Array {
  const doc = new Y.Doc();
  doc.getMap('m').set('deep', value);
  return Y.encodeStateAsUpdate(doc);
}

function formatUpdate(value: unknown): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, 'abc', { deep: value });
  return Y.encodeStateAsUpdate(doc);
}
