import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RoomExistsError, type RoomDump, type Store } from '../storage/store.js';
import { documentLogContract } from './document-log-conformance.js';
import type { ConformanceFactory } from './port-conformance.js';
import { docFromStored as load, textUpdate } from './yjs-fixtures.js';
import {
  collaboratorStoreContract,
  eventFeedContract,
  eventLogContract,
  revisionStoreContract,
  roomListingContract,
} from './room-data-conformance.js';
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

    collaboratorStoreContract(() => store);
    roomListingContract(() => store);
    eventLogContract(() => store);
    eventFeedContract(() => store);
    revisionStoreContract(() => store);

    describe('declared capabilities', () => {
      it('is ready, and grants a named lease that can be given back and taken again', async () => {
        await store.whenReady();
        const lease = await store.leadership.tryAcquire('conformance');
        expect(lease).not.toBeNull();
        await lease!.release();
        await store.ping();
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

      it('deletes a room completely: document, collaborators, events, horizon, feed entries, revisions', async () => {
        await store.appendUpdate('d', textUpdate('a'));
        await store.compact('d', 1, textUpdate('a'));
        await store.setCollaborator('d', 'ada', 'owner');
        await store.setCollaborator('kept', 'ada', 'owner');
        await store.appendEvent('d', { type: 'gone', user: null, data: null });
        await store.appendEvent('kept', { type: 'stays', user: null, data: null });
        await store.appendEvent('d', { type: 'gone', user: null, data: null });
        await store.pruneEvents('d', 1);
        await store.createRevision('d', { label: 'r', user: null, state: textUpdate('r') });
        await store.deleteRoom('d');
        expect(await store.loadRoom('d')).toBeNull();
        expect(await store.getRoomInfo('d')).toBeNull();
        expect(await store.listCollaborators('d')).toEqual([]);
        expect(await store.getCollaborator('kept', 'ada')).toBe('owner');
        expect(await store.listEvents('d', { since: 0, limit: 10 })).toEqual([]);
        expect(await store.eventHorizon('d')).toBe(0);
        expect((await store.listEventsAfter(0, 10)).map((e) => e.event.type)).toEqual(['stays']);
        expect(await store.listRevisions('d', { limit: 10 })).toEqual([]);
        expect(await store.getRevision('d', 1)).toBeNull();
        expect(await store.listRoomNames({ limit: 10 })).toEqual(['kept']);
        expect(await store.appendUpdate('d', textUpdate('b'))).toBe(1);
      });

      it('an event makes a room listed; a room with no document content loads as null', async () => {
        await store.appendEvent('events-only', { type: 'x', user: null, data: null });
        expect(await store.getRoomInfo('events-only')).toMatchObject({ name: 'events-only', lastSeq: 0 });
        // No document yet: the server treats the room as new (its first writer becomes owner).
        expect(await store.loadRoom('events-only')).toBeNull();
        await store.setCollaborator('people-only', 'ada', 'owner');
        await store.createRevision('revisions-only', { label: 'r', user: null, state: textUpdate('r') });
        expect(await store.loadRoom('people-only')).toBeNull();
        expect(await store.loadRoom('revisions-only')).toBeNull();
      });

      it('deletes writes of every kind issued in the same tick before the delete', async () => {
        const writes = Promise.all([
          store.appendEvent('burst', { type: 'a', user: null, data: 1 }),
          store.appendUpdate('burst', new Uint8Array([1])),
          store.createRevision('burst', { label: 'r', user: null, state: textUpdate('r') }),
        ]);
        // Writes issued before a delete are deleted with the room, not committed after it.
        const late = store.appendEvent('burst', { type: 'late', user: null, data: null });
        await store.deleteRoom('burst');
        await Promise.all([writes, late]);
        expect(await store.listEvents('burst', { since: 0, limit: 10 })).toEqual([]);
        expect(await store.getRoomInfo('burst')).toBeNull();
        expect(await store.loadRoom('burst')).toBeNull();
        expect(await store.listRevisions('burst', { limit: 10 })).toEqual([]);
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
