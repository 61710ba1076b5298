import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RoomExistsError, type RoomDump, type Store } from '../storage/store.js';
import { documentLogContract, type ConformanceFactory } from './document-log-conformance.js';
import { docFromStored as load, textUpdate } from './yjs-fixtures.js';
import { serverOverStore } from './server-over-store.js';

export interface StoreFactory extends ConformanceFactory<Store> {
  /** Re-opens the same storage after close (omit for stores that do not persist). */
  reopen?(): Promise<Store> | Store;
  /**
   * For a store several processes share: another store on the same storage while the first is open.
   * Its leadership must then be exclusive between them (one lease holder per name).
   */
  openAnother?(): Promise<Store> | Store;
}

/**
 * The contract every Store implementation must meet, as vitest tests: call it from a test file with a
 * factory for your store (`import { storeConformance } from '@tandem/server/testing'`).
 */
export function storeConformance(name: string, factory: StoreFactory): void {
  describe(`Store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory.create();
    });
    afterEach(async () => {
      await store.close();
      factory.cleanup?.();
    });

    serverOverStore(() => store);

    documentLogContract(() => store);

    describe('room data', () => {
      it('keeps collaborators per room, updates roles, removes them, and drops them with the room', async () => {
        expect(await store.getCollaborator('team', 'ada')).toBeNull();
        await store.setCollaborator('team', 'ada', 'owner');
        await store.setCollaborator('team', 'bob', 'viewer');
        await store.setCollaborator('other', 'bob', 'editor');
        await store.setCollaborator('team', 'bob', 'editor');
        expect(await store.listCollaborators('team')).toEqual([
          { user: 'ada', role: 'owner' },
          { user: 'bob', role: 'editor' },
        ]);
        expect(await store.removeCollaborator('team', 'bob')).toBe(true);
        expect(await store.removeCollaborator('team', 'bob')).toBe(false);
        expect(await store.getCollaborator('team', 'bob')).toBeNull();
        expect(await store.getCollaborator('other', 'bob')).toBe('editor');
        await store.deleteRoom('team');
        expect(await store.listCollaborators('team')).toEqual([]);
      });

      it('reports room info and lists rooms in pages', async () => {
        expect(await store.getRoomInfo('a')).toBeNull();
        for (const name of ['c', 'a', 'b']) await store.appendUpdate(name, textUpdate(name));
        await store.appendUpdate('a', textUpdate('again', 9));
        const info = (await store.getRoomInfo('a'))!;
        expect(info).toMatchObject({ name: 'a', lastSeq: 2 });
        expect(info.updatedAt).toBeGreaterThanOrEqual(info.createdAt);
        expect((await store.listRooms({ limit: 2 })).map((r) => r.name)).toEqual(['a', 'b']);
        expect((await store.listRooms({ after: 'b', limit: 2 })).map((r) => r.name)).toEqual(['c']);
      });

      it('filters a listing by patterns and collaborator rows before cutting the page', async () => {
        for (const name of ['acc/layoffs', 'acc/merger', 'other/x', 'other/y/deep', 'shared', 'zz'])
          await store.appendUpdate(name, textUpdate(name));
        await store.setCollaborator('shared', 'ada', 'viewer');
        await store.setCollaborator('zz', 'bob', 'viewer');
        const visibleTo = { patterns: ['other/*'], collaborator: 'ada' };
        const pages: string[][] = [];
        let after: string | undefined;
        for (;;) {
          const page = (await store.listRooms({ after, limit: 1, visibleTo })).map((r) => r.name);
          if (page.length === 0) break;
          pages.push(page);
          after = page.at(-1);
        }
        expect(pages).toEqual([['other/x'], ['shared']]);
        const all = await store.listRooms({ limit: 10, visibleTo: { patterns: ['**'], collaborator: 'nobody' } });
        expect(all.map((r) => r.name)).toEqual([
          'acc/layoffs',
          'acc/merger',
          'other/x',
          'other/y/deep',
          'shared',
          'zz',
        ]);
      });

      it('appends events with per-room monotonic ids, dedupes idempotency keys, lists since an id', async () => {
        const first = await store.appendEvent('ev', { type: 'note', user: 'ada', data: { n: 1 } });
        expect(first).toMatchObject({ duplicate: false, event: { id: 1, type: 'note', user: 'ada', data: { n: 1 } } });
        const keyed = await store.appendEvent('ev', { type: 'pay', user: null, data: [1, 'x'], idempotencyKey: 'k1' });
        const again = await store.appendEvent('ev', {
          type: 'pay',
          user: null,
          data: 'different',
          idempotencyKey: 'k1',
        });
        expect(again).toEqual({ event: keyed.event, duplicate: true });
        await store.appendEvent('other', { type: 'x', user: null, data: null, idempotencyKey: 'k1' });
        expect(await store.getRoomInfo('other')).toMatchObject({ name: 'other', lastSeq: 0 });
        await store.appendEvent('ev', { type: 'third', user: 'bob', data: null });
        expect((await store.listEvents('ev', { since: 0, limit: 10 })).map((e) => e.id)).toEqual([1, 2, 3]);
        expect((await store.listEvents('ev', { since: 1, limit: 1 })).map((e) => e.type)).toEqual(['pay']);
        await store.deleteRoom('ev');
        expect(await store.listEvents('ev', { since: 0, limit: 10 })).toEqual([]);
      });

      it('keeps ids, idempotency and deletes right for writes made in one tick', async () => {
        // Not awaited one by one: a group-committing store gets them all in one batch.
        const [a, b, dup, c] = await Promise.all([
          store.appendEvent('burst', { type: 'a', user: null, data: 1 }),
          store.appendEvent('burst', { type: 'b', user: null, data: 2, idempotencyKey: 'k' }),
          store.appendEvent('burst', { type: 'b', user: null, data: 3, idempotencyKey: 'k' }),
          store.appendEvent('burst', { type: 'c', user: null, data: 4 }),
          store.appendUpdate('burst', new Uint8Array([1])),
        ]);
        expect([a!.event.id, b!.event.id, c!.event.id]).toEqual([1, 2, 3]);
        expect(dup).toEqual({ event: b!.event, duplicate: true });
        // Writes issued before a delete are deleted with the room, not committed after it.
        const late = store.appendEvent('burst', { type: 'late', user: null, data: null });
        await store.deleteRoom('burst');
        await late;
        expect(await store.listEvents('burst', { since: 0, limit: 10 })).toEqual([]);
        expect(await store.getRoomInfo('burst')).toBeNull();
        expect(await store.loadRoom('burst')).toBeNull();
      });

      it('prunes events to the newest n, remembers the horizon, never reuses an id', async () => {
        for (let i = 1; i <= 5; i++) {
          await store.appendEvent('ret', { type: 't', user: null, data: i, idempotencyKey: `k${i}` });
        }
        expect(await store.eventHorizon('ret')).toBe(0);
        expect(await store.pruneEvents('ret', 2)).toBe(3);
        expect((await store.listEvents('ret', { since: 0, limit: 10 })).map((e) => e.id)).toEqual([4, 5]);
        expect(await store.eventHorizon('ret')).toBe(3);
        expect(await store.pruneEvents('ret', 2)).toBe(0);
        // A pruned event's key is gone with it; the ids keep growing.
        const again = await store.appendEvent('ret', { type: 't', user: null, data: 1, idempotencyKey: 'k1' });
        expect(again).toMatchObject({ duplicate: false, event: { id: 6 } });
        expect(await store.pruneEvents('ret', 0)).toBe(3);
        expect((await store.appendEvent('ret', { type: 't', user: null, data: 7 })).event.id).toBe(7);
        expect(await store.eventHorizon('ret')).toBe(6);
        await store.deleteRoom('ret');
        expect(await store.eventHorizon('ret')).toBe(0);
      });

      it('lists events of all rooms in append order after a position; cursors persist', async () => {
        expect(await store.lastEventPosition()).toBe(0);
        await store.appendEvent('x', { type: 'a', user: null, data: 1 });
        await store.appendEvent('y', { type: 'b', user: null, data: 2 });
        await store.appendEvent('x', { type: 'c', user: null, data: 3 });
        const all = await store.listEventsAfter(0, 10);
        expect(all.map((e) => [e.room, e.event.type])).toEqual([
          ['x', 'a'],
          ['y', 'b'],
          ['x', 'c'],
        ]);
        const positions = all.map((e) => e.position);
        expect([...positions].sort((p, q) => p - q)).toEqual(positions);
        expect(await store.lastEventPosition()).toBe(positions[2]);
        expect((await store.listEventsAfter(positions[0]!, 1)).map((e) => e.event.type)).toEqual(['b']);
        await store.deleteRoom('y');
        expect((await store.listEventsAfter(0, 10)).map((e) => e.event.type)).toEqual(['a', 'c']);

        expect(await store.getCursor('webhook:a')).toBeNull();
        await store.setCursor('webhook:a', positions[1]!);
        expect(await store.getCursor('webhook:a')).toBe(positions[1]);
      });

      it('stores revisions with their state, newest first', async () => {
        const s1 = textUpdate('one');
        const r1 = await store.createRevision('rev', { label: 'first', user: 'ada', state: s1 });
        const r2 = await store.createRevision('rev', { label: 'second', user: null, state: textUpdate('two') });
        expect(r1).toMatchObject({ id: 1, label: 'first', user: 'ada', size: s1.length });
        expect((await store.listRevisions('rev', { limit: 10 })).map((r) => r.id)).toEqual([2, 1]);
        expect(await store.getRevision('rev', 1)).toMatchObject({ id: 1, label: 'first', state: s1 });
        expect(await store.getRevision('rev', 3)).toBeNull();
        expect(r2.id).toBe(2);
        await store.ping();
        await store.appendUpdate('rev', textUpdate('content'));
        await store.deleteRoom('rev');
        expect(await store.listRevisions('rev', { limit: 10 })).toEqual([]);
        expect(await store.getRevision('rev', 1)).toBeNull();
      });
    });

    describe('declared capabilities', () => {
      it('is ready, and grants a named lease that can be given back and taken again', async () => {
        await store.whenReady();
        const lease = await store.leadership.tryAcquire('conformance');
        expect(lease).not.toBeNull();
        await lease!.release();
        const again = await store.leadership.tryAcquire('conformance');
        expect(again).not.toBeNull();
        await again!.release();
      });

      if (factory.openAnother) {
        it('shared by several processes: one lease holder per name between them', async () => {
          const other = await factory.openAnother!();
          try {
            const held = await store.leadership.tryAcquire('conformance-shared');
            expect(held).not.toBeNull();
            expect(await other.leadership.tryAcquire('conformance-shared')).toBeNull();
            await held!.release();
            const taken = await other.leadership.tryAcquire('conformance-shared');
            expect(taken).not.toBeNull();
            await taken!.release();
          } finally {
            await other.close();
          }
        });
      }
    });

    describe('whole store', () => {
      it('appendInitial stores only into a room without content, even when two race in one tick', async () => {
        const first = textUpdate('first', 1);
        const second = textUpdate('second', 2);
        const [a, b] = await Promise.all([store.appendInitial('init', first), store.appendInitial('init', second)]);
        expect([a, b]).toEqual([1, null]);
        expect((await store.loadRoom('init'))?.updates).toEqual([first]);
        expect(await store.appendInitial('init', second)).toBeNull();
        // A room that only has collaborators has no content yet.
        await store.setCollaborator('collab-only', 'ada', 'owner');
        expect(await store.appendInitial('collab-only', first)).toBe(1);
      });

      it('takes a room’s writes in the order they were called, across kinds', async () => {
        await store.appendUpdate('order', textUpdate('x', 1));
        // Called in one tick: set, then delete, then set again. Only the last survives.
        await Promise.all([
          store.setCollaborator('order', 'before', 'owner'),
          store.deleteRoom('order'),
          store.setCollaborator('order', 'after', 'editor'),
        ]);
        expect(await store.getCollaborator('order', 'before')).toBeNull();
        expect(await store.getCollaborator('order', 'after')).toBe('editor');
        expect(await store.loadRoom('order')).toBeNull();
        await Promise.all([
          store.createRevision('order', { label: 'r', user: null, state: textUpdate('y', 2) }),
          store.deleteRoom('order'),
        ]);
        expect(await store.listRevisions('order', { limit: 10 })).toEqual([]);
      });

      it('lists every room with anything stored, rooms with only collaborators or revisions too', async () => {
        await store.appendUpdate('doc', textUpdate('d'));
        await store.appendEvent('events', { type: 'a', user: null, data: null });
        await store.setCollaborator('people', 'ada', 'owner');
        await store.createRevision('revs', { label: 'r', user: null, state: textUpdate('r') });
        expect(await store.listRoomNames({ limit: 10 })).toEqual(['doc', 'events', 'people', 'revs']);
        expect(await store.listRoomNames({ after: 'events', limit: 1 })).toEqual(['people']);
        await store.removeCollaborator('people', 'ada');
        expect(await store.listRoomNames({ limit: 10 })).toEqual(['doc', 'events', 'revs']);
      });

      it('imports a whole room keeping its ids, times and log position, and never over one', async () => {
        const state = textUpdate('imported text', 5);
        const revisionState = textUpdate('older', 6);
        const dump: RoomDump = {
          name: 'moved',
          createdAt: 1_000,
          updatedAt: 2_000,
          lastSeq: 7,
          state,
          collaborators: [
            { user: 'ada', role: 'owner' },
            { user: 'bob', role: 'viewer' },
          ],
          events: [
            { id: 4, type: 'note', ts: 1_500, user: 'ada', data: { n: 1, nested: ['x'] } },
            { id: 6, type: 'note', ts: 1_600, user: null, data: null },
          ],
          eventHorizon: 3,
          revisions: [
            { id: 2, label: 'named', ts: 1_700, user: 'ada', size: revisionState.length, state: revisionState },
          ],
        };
        await store.importRoom(dump);
        expect(await store.getRoomInfo('moved')).toEqual({
          name: 'moved',
          createdAt: 1_000,
          updatedAt: 2_000,
          lastSeq: 7,
        });
        const loaded = (await store.loadRoom('moved'))!;
        expect(loaded.lastSeq).toBe(7);
        expect(load(loaded).getText('t').toString()).toBe('imported text');
        expect(await store.listCollaborators('moved')).toEqual(dump.collaborators);
        expect(await store.listEvents('moved', { since: 0, limit: 10 })).toEqual(dump.events);
        expect(await store.eventHorizon('moved')).toBe(3);
        expect(await store.listRevisions('moved', { limit: 10 })).toEqual([
          { id: 2, label: 'named', ts: 1_700, user: 'ada', size: revisionState.length },
        ]);
        expect((await store.getRevision('moved', 2))?.state).toEqual(revisionState);
        // Imported events are history: a delivery cursor (webhooks) does not see them as new.
        expect(await store.listEventsAfter(0, 10)).toEqual([]);
        // Numbering goes on after what was imported.
        expect(await store.appendUpdate('moved', textUpdate('!', 8))).toBe(8);
        expect((await store.appendEvent('moved', { type: 'n', user: null, data: 1 })).event.id).toBe(7);
        expect((await store.createRevision('moved', { label: 'x', user: null, state })).id).toBe(3);

        await expect(store.importRoom(dump)).rejects.toBeInstanceOf(RoomExistsError);
        await store.setCollaborator('taken', 'eve', 'editor');
        await expect(store.importRoom({ ...dump, name: 'taken' })).rejects.toThrow(/already exists/);
        expect(await store.loadRoom('taken')).toBeNull();
      });

      it('deletes a room completely', async () => {
        await store.appendUpdate('d', textUpdate('a'));
        await store.compact('d', 1, textUpdate('a'));
        await store.deleteRoom('d');
        expect(await store.loadRoom('d')).toBeNull();
        expect(await store.appendUpdate('d', textUpdate('b'))).toBe(1);
      });
    });

    if (factory.reopen) {
      const reopen = factory.reopen.bind(factory);
      it('keeps everything committed across close and reopen', async () => {
        const u = textUpdate('persist me');
        await store.appendUpdate('p', u);
        await store.compact('p', 1, u);
        await store.appendUpdate('p', textUpdate('tail', 7));
        await store.close();
        store = await reopen();
        const loaded = (await store.loadRoom('p'))!;
        expect(loaded.lastSeq).toBe(2);
        expect(loaded.snapshotSeq).toBe(1);
        expect(loaded.updates).toHaveLength(1);
      });

      it('keeps cursors and the event order across close and reopen', async () => {
        await store.appendEvent('x', { type: 'a', user: null, data: 1 });
        const [first] = await store.listEventsAfter(0, 1);
        await store.setCursor('webhook:a', first!.position);
        await store.close();
        store = await reopen();
        expect(await store.getCursor('webhook:a')).toBe(first!.position);
        await store.appendEvent('y', { type: 'b', user: null, data: 2 });
        expect((await store.listEventsAfter(first!.position, 10)).map((e) => e.event.type)).toEqual(['b']);
        expect(await store.lastEventPosition()).toBeGreaterThan(first!.position);
      });
    }
  });
}
