import type { Socket } from 'node:net';
import { encodeSyncUpdate } from '@tandem/protocol';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { TandemServer } from '../src/server.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';
import { ControllableStore } from './support/controllable-store.js';
import { eventually } from './support/eventually.js';
import { docFromStored, storedDoc } from './support/stored-doc.js';
import { startTestServer, tempDir } from './support/server.js';
import { connectPeer, type TestPeer } from './support/test-peer.js';

describe('rooms', () => {
  let server: TandemServer | null = null;
  const join_ = async (room: string, tandem = true): Promise<TestPeer> => {
    const p = await connectPeer(`${server!.syncUrl}/${room}`, { tandem });
    return p;
  };

  it('acks an update only after the store committed it', async () => {
    const store = new ControllableStore();
    server = await startTestServer({}, { store });
    const a = await join_('acks');
    await eventually(() => expect(a.synced).toBe(true));
    await eventually(() => expect(a.acked).toBe(a.sent));
    store.hold();
    a.doc.getText('t').insert(0, 'hello');
    const target = a.sent;
    await new Promise((r) => setTimeout(r, 100));
    expect(a.acked).toBeLessThan(target);
    expect((await store.inner.loadRoom('acks'))?.updates ?? []).toHaveLength(0);
    store.release();
    await eventually(() => expect(a.acked).toBe(target));
    expect((await store.inner.loadRoom('acks'))!.updates.length).toBeGreaterThan(0);
  });

  it('broadcast does not wait for the commit', async () => {
    const store = new ControllableStore();
    server = await startTestServer({}, { store });
    const a = await join_('bcast');
    const b = await join_('bcast');
    await eventually(() => expect(a.synced && b.synced).toBe(true));
    store.hold();
    a.doc.getText('t').insert(0, 'fast');
    await eventually(() => expect(b.text).toBe('fast'));
    expect(a.acked).toBeLessThan(a.sent);
    store.release();
  });

  it('coalesces updates arriving in one turn into one frame for every peer', async () => {
    server = await startTestServer();
    const a = await join_('coalesce');
    const b = await join_('coalesce');
    await eventually(() => expect(a.synced && b.synced).toBe(true));
    const before = b.received.filter((m) => m.type === 'sync-update').length;
    // Ten separate frames in one TCP write (the socket corked around them) reach the server in one
    // read, so in one event-loop turn.
    const tcp = (a.ws as unknown as { _socket: Socket })._socket;
    tcp.cork();
    for (let i = 0; i < 10; i++) a.doc.getText('t').insert(0, String(i));
    tcp.uncork();
    await eventually(() => expect(b.text).toBe('9876543210'));
    const frames = b.received.filter((m) => m.type === 'sync-update').length - before;
    expect(frames).toBe(1);
  });

  it('merges the updates queued behind an in-flight commit into one write, and acks them all', async () => {
    const store = new ControllableStore();
    server = await startTestServer({}, { store });
    const a = await join_('busy');
    await eventually(() => expect(a.acked).toBe(a.sent));
    store.hold();
    const before = store.appendCalls;
    for (let i = 0; i < 20; i++) {
      a.doc.getText('t').insert(0, 'x');
      // Separate event-loop turns on the server: without merging each would be its own write.
      await new Promise((r) => setTimeout(r, 5));
    }
    await eventually(() => expect(server!.registry.get('busy')!.doc.getText('t').length).toBe(20));
    store.release();
    await eventually(() => expect(a.acked).toBe(a.sent));
    // The write in flight when the store stalled, then one merged write for everything behind it.
    expect(store.appendCalls - before).toBe(2);
    expect((await storedDoc(store.inner, 'busy')).getText('t').toString()).toBe('x'.repeat(20));
  });

  it('stores and broadcasts a resent update once', async () => {
    const store = new ControllableStore();
    server = await startTestServer({}, { store });
    const a = await join_('resend');
    const b = await join_('resend');
    await eventually(() => expect(a.synced && b.synced).toBe(true));
    const src = new Y.Doc();
    src.getText('t').insert(0, 'once');
    const update = Y.encodeStateAsUpdate(src);
    const calls = store.appendCalls;
    const framesBefore = b.received.filter((m) => m.type === 'sync-update').length;
    for (let i = 0; i < 20; i++) {
      a.sendRaw(encodeSyncUpdate(update));
      await new Promise((r) => setImmediate(r));
    }
    a.sent += 20;
    await eventually(() => expect(a.acked).toBe(a.sent));
    expect(b.text).toBe('once');
    expect(store.appendCalls - calls).toBe(1);
    expect(b.received.filter((m) => m.type === 'sync-update').length - framesBefore).toBe(1);
  });

  it('keeps the document across a restart and reloads with the same state vector', async () => {
    const { dir } = tempDir();
    server = await startTestServer({ store: 'sqlite', dataDir: dir });
    const a = await join_('keep');
    a.doc.getText('t').insert(0, 'survives restarts');
    a.doc.getMap('m').set('k', 42);
    await eventually(() => expect(a.acked).toBe(a.sent));
    const sv = Y.encodeStateVector(server.registry.get('keep')!.doc);
    a.terminate();
    // Unload and reload within the same server.
    await eventually(() => expect(server!.registry.size).toBe(0));
    const b = await join_('keep');
    await eventually(() => expect(b.text).toBe('survives restarts'));
    expect(Y.encodeStateVector(server.registry.get('keep')!.doc)).toEqual(sv);
    b.terminate();
    // Full restart of the process' server.
    await server.drain();
    server = await startTestServer({ store: 'sqlite', dataDir: dir });
    const c = await join_('keep');
    await eventually(() => expect(c.text).toBe('survives restarts'));
    expect(c.doc.getMap('m').get('k')).toBe(42);
    expect(Y.encodeStateVector(server.registry.get('keep')!.doc)).toEqual(sv);
  });

  it('compacts the log into a snapshot and loads from snapshot + tail', async () => {
    const { dir } = tempDir();
    server = await startTestServer({ store: 'sqlite', dataDir: dir, compactAfterUpdates: 10 });
    const a = await join_('compact');
    for (let i = 0; i < 25; i++) {
      a.doc.getText('t').insert(0, 'x');
      await eventually(() => expect(a.acked).toBe(a.sent));
    }
    const stored = (await server.store.loadRoom('compact'))!;
    expect(stored.snapshot).not.toBeNull();
    expect(stored.updates.length).toBeLessThan(10);
    expect(docFromStored(stored).getText('t').toString()).toBe('x'.repeat(25));
  });

  it('a room loaded from a large snapshot compacts only once its tail is a quarter of it', async () => {
    const { dir } = tempDir();
    server = await startTestServer({ store: 'sqlite', dataDir: dir, compactAfterUpdates: 10, unloadDelayMs: 0 });
    const first = await join_('big');
    first.doc.getText('t').insert(0, 'x'.repeat(20_000));
    await eventually(() => expect(first.acked).toBe(first.sent));
    await first.close();
    // Unloaded, its log folded into a 20 KB snapshot.
    await eventually(async () => expect((await server!.store.loadRoom('big'))?.updates).toEqual([]));
    await eventually(() => expect(server!.registry.size).toBe(0));
    const second = await join_('big');
    for (let i = 0; i < 15; i++) {
      second.doc.getText('t').insert(0, 'y');
      await eventually(() => expect(second.acked).toBe(second.sent));
    }
    // Past the count of 10, but 15 small updates are far from a quarter of 20 KB: still a tail.
    expect((await server.store.loadRoom('big'))!.updates).toHaveLength(15);
    await second.close();
  });

  it('returns to zero loaded rooms after thousands of open/edit/close cycles', async () => {
    server = await startTestServer({ unloadDelayMs: 0 });
    const { registry } = server;
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const p = await connectPeer(`${server!.syncUrl}/cycle-${round}-${i}`);
          p.doc.getText('t').insert(0, 'x');
          await eventually(() => expect(p.acked).toBe(p.sent));
          await p.close();
        }),
      );
    }
    await eventually(() => expect(registry.size).toBe(0));
    // Everything that was acked is in the store, folded into a snapshot on unload.
    const stored = (await server.store.loadRoom('cycle-19-99'))!;
    expect(stored.snapshot).not.toBeNull();
    expect(stored.updates).toHaveLength(0);
    expect(docFromStored(stored).getText('t').toString()).toBe('x');
    // A soak of 2,000 connections: ~10 s on a loaded 2-core machine; the limit only catches a hang.
  }, 90_000);

  it('unload race: a joiner right after an edit-and-leave on a slow store sees every edit', async () => {
    const store = new ControllableStore();
    store.appendDelayMs = 30;
    server = await startTestServer({ unloadDelayMs: 0 }, { store });
    for (let i = 0; i < 25; i++) {
      const writer = await connectPeer(`${server.syncUrl}/race`);
      await eventually(() => expect(writer.synced).toBe(true));
      writer.doc.getText('t').insert(0, `${i},`);
      await new Promise((r) => setTimeout(r, i % 5));
      writer.terminate();
      const reader = await connectPeer(`${server.syncUrl}/race`);
      await eventually(() => expect(reader.text.split(',').length - 1).toBe(i + 1));
      reader.terminate();
    }
  });

  it('refuses peers with 1013 when the load fails, and never stores an empty doc over real content', async () => {
    const store = new ControllableStore();
    await store.inner.appendUpdate(
      'fragile',
      (() => {
        const d = new Y.Doc();
        d.getText('t').insert(0, 'precious');
        return Y.encodeStateAsUpdate(d);
      })(),
    );
    store.failLoads = 1;
    server = await startTestServer({}, { store });
    const a = await connectPeer(`${server.syncUrl}/fragile`);
    const closed = await a.closed;
    expect(closed.code).toBe(1013);
    expect(a.received.filter((m) => m.type.startsWith('sync'))).toEqual([]);
    expect(a.received.find((m) => m.type === 'error')).toMatchObject({ code: 'room_load_failed' });
    // The next attempt loads the real content.
    const b = await join_('fragile');
    await eventually(() => expect(b.text).toBe('precious'));
  });

  it('a peer joining while the room loads waits and then syncs', async () => {
    const store = new ControllableStore();
    await store.inner.appendUpdate(
      'slowload',
      (() => {
        const d = new Y.Doc();
        d.getText('t').insert(0, 'loaded');
        return Y.encodeStateAsUpdate(d);
      })(),
    );
    store.loadDelayMs = 200;
    server = await startTestServer({}, { store });
    const [a, b] = await Promise.all([join_('slowload'), join_('slowload')]);
    await eventually(() => expect([a.text, b.text]).toEqual(['loaded', 'loaded']));
  });

  it('retries failed commits and acks once they succeed', async () => {
    const store = new ControllableStore();
    server = await startTestServer({}, { store });
    const a = await join_('retry');
    await eventually(() => expect(a.acked).toBe(a.sent));
    store.failAppends = 3;
    a.doc.getText('t').insert(0, 'eventually durable');
    await eventually(() => expect(a.acked).toBe(a.sent));
    expect(server.registry.get('retry')!.persistence.failedAttempts).toBe(3);
    expect((await storedDoc(store.inner, 'retry')).getText('t').toString()).toBe('eventually durable');
  });

  it('a room whose saves keep failing is still unloaded after the save timeout', async () => {
    const store = new ControllableStore();
    server = await startTestServer({ unloadDelayMs: 0 }, { store });
    (server.registry as unknown as { options: { unloadSaveTimeoutMs: number } }).options.unloadSaveTimeoutMs = 300;
    const a = await join_('doomed');
    await eventually(() => expect(a.synced).toBe(true));
    store.failAppends = Number.MAX_SAFE_INTEGER;
    a.doc.getText('t').insert(0, 'never acked');
    await new Promise((r) => setTimeout(r, 50));
    expect(a.acked).toBeLessThan(a.sent);
    a.terminate();
    await eventually(() => expect(server!.registry.size).toBe(0), 5_000);
  });

  it('works with SQLite through a real file', async () => {
    const { dir } = tempDir();
    const store = new SqliteStore(join(dir, 'x.db'));
    server = await startTestServer({}, { store });
    const a = await join_('sqlite-room');
    a.doc.getText('t').insert(0, 'on disk');
    await eventually(() => expect(a.acked).toBe(a.sent));
    expect((await store.loadRoom('sqlite-room'))!.updates.length).toBeGreaterThan(0);
  });
});
