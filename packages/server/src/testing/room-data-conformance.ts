import { beforeEach, describe, expect, it } from 'vitest';
import type {
  CollaboratorStore,
  DocumentAppender,
  EventFeed,
  EventLog,
  RevisionStore,
  RoomListing,
} from '../storage/store.js';
import { textUpdate } from './yjs-fixtures.js';

/*
 * The room-data ports' contracts, one per port: each takes a getter for a fresh instance (made per test
 * by the caller) and uses only the port it checks, plus the writes it needs to have something to read
 * (a listing needs rooms with content and collaborators; a feed needs appended events). What a room's
 * deletion does to each port is the whole store's contract (store-conformance.ts), not theirs.
 */

/** Collaborators per room: set, update, list, remove. */
export function collaboratorStoreContract(get: () => CollaboratorStore): void {
  describe('collaborators', () => {
    let store: CollaboratorStore;
    beforeEach(() => {
      store = get();
    });

    it('keeps collaborators per room, updates roles and removes them', async () => {
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
      expect(await store.listCollaborators('nobody-here')).toEqual([]);
    });

    it('lists collaborators sorted by user id whatever the order they were set in', async () => {
      for (const user of ['zoe', 'ada', 'mia']) await store.setCollaborator('sorted', user, 'viewer');
      expect((await store.listCollaborators('sorted')).map((c) => c.user)).toEqual(['ada', 'mia', 'zoe']);
    });
  });
}

/** The room listing, over rooms made by appending updates and filtered by collaborator rows. */
export function roomListingContract(get: () => RoomListing & DocumentAppender & CollaboratorStore): void {
  describe('room listing', () => {
    let store: RoomListing & DocumentAppender & CollaboratorStore;
    beforeEach(() => {
      store = get();
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
      expect(all.map((r) => r.name)).toEqual(['acc/layoffs', 'acc/merger', 'other/x', 'other/y/deep', 'shared', 'zz']);
    });
  });
}

/** Each room's events: numbering, idempotency keys, reading since an id, pruning. */
export function eventLogContract(get: () => EventLog): void {
  describe('event log', () => {
    let store: EventLog;
    beforeEach(() => {
      store = get();
    });

    it('appends events with per-room monotonic ids, dedupes idempotency keys, lists since an id', async () => {
      const first = await store.appendEvent('ev', { type: 'note', user: 'ada', data: { n: 1 } });
      expect(first).toMatchObject({ duplicate: false, event: { id: 1, type: 'note', user: 'ada', data: { n: 1 } } });
      const keyed = await store.appendEvent('ev', { type: 'pay', user: null, data: [1, 'x'], idempotencyKey: 'k1' });
      const again = await store.appendEvent('ev', { type: 'pay', user: null, data: 'different', idempotencyKey: 'k1' });
      expect(again).toEqual({ event: keyed.event, duplicate: true });
      // Keys are per room: the same key elsewhere is a new event.
      const elsewhere = await store.appendEvent('other', { type: 'x', user: null, data: null, idempotencyKey: 'k1' });
      expect(elsewhere).toMatchObject({ duplicate: false, event: { id: 1 } });
      await store.appendEvent('ev', { type: 'third', user: 'bob', data: null });
      expect((await store.listEvents('ev', { since: 0, limit: 10 })).map((e) => e.id)).toEqual([1, 2, 3]);
      expect((await store.listEvents('ev', { since: 1, limit: 1 })).map((e) => e.type)).toEqual(['pay']);
    });

    it('keeps ids and idempotency right for appends made in one tick', async () => {
      // Not awaited one by one: a group-committing store gets them all in one batch.
      const [a, b, dup, c] = await Promise.all([
        store.appendEvent('burst', { type: 'a', user: null, data: 1 }),
        store.appendEvent('burst', { type: 'b', user: null, data: 2, idempotencyKey: 'k' }),
        store.appendEvent('burst', { type: 'b', user: null, data: 3, idempotencyKey: 'k' }),
        store.appendEvent('burst', { type: 'c', user: null, data: 4 }),
      ]);
      expect([a.event.id, b.event.id, c.event.id]).toEqual([1, 2, 3]);
      expect(dup).toEqual({ event: b.event, duplicate: true });
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
    });
  });
}

/** Every room's events in one order, and named cursors into it. */
export function eventFeedContract(get: () => EventFeed & EventLog): void {
  describe('event feed', () => {
    let store: EventFeed & EventLog;
    beforeEach(() => {
      store = get();
    });

    it('lists events of all rooms in append order after a position', async () => {
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
      expect(new Set(positions).size).toBe(3);
      expect(await store.lastEventPosition()).toBe(positions[2]);
      expect((await store.listEventsAfter(positions[0]!, 1)).map((e) => e.event.type)).toEqual(['b']);
      // A duplicate (repeated idempotency key) is not a new entry.
      await store.appendEvent('x', { type: 'd', user: null, data: 4, idempotencyKey: 'once' });
      await store.appendEvent('x', { type: 'd', user: null, data: 4, idempotencyKey: 'once' });
      expect((await store.listEventsAfter(positions[2]!, 10)).map((e) => e.event.type)).toEqual(['d']);
    });

    it('keeps a named cursor', async () => {
      expect(await store.getCursor('webhook:a')).toBeNull();
      await store.appendEvent('x', { type: 'a', user: null, data: 1 });
      const [entry] = await store.listEventsAfter(0, 1);
      await store.setCursor('webhook:a', entry!.position);
      expect(await store.getCursor('webhook:a')).toBe(entry!.position);
      expect(await store.getCursor('webhook:b')).toBeNull();
      await store.setCursor('webhook:a', entry!.position + 1);
      expect(await store.getCursor('webhook:a')).toBe(entry!.position + 1);
    });
  });
}

/** Named snapshots of a room's document. */
export function revisionStoreContract(get: () => RevisionStore): void {
  describe('revisions', () => {
    let store: RevisionStore;
    beforeEach(() => {
      store = get();
    });

    it('stores revisions with their state, newest first', async () => {
      const s1 = textUpdate('one');
      const r1 = await store.createRevision('rev', { label: 'first', user: 'ada', state: s1 });
      const r2 = await store.createRevision('rev', { label: 'second', user: null, state: textUpdate('two') });
      expect(r1).toMatchObject({ id: 1, label: 'first', user: 'ada', size: s1.length });
      expect(r2.id).toBe(2);
      expect((await store.listRevisions('rev', { limit: 10 })).map((r) => r.id)).toEqual([2, 1]);
      expect((await store.listRevisions('rev', { limit: 1 })).map((r) => r.id)).toEqual([2]);
      expect(await store.getRevision('rev', 1)).toMatchObject({ id: 1, label: 'first', state: s1 });
      expect(await store.getRevision('rev', 3)).toBeNull();
      expect(await store.getRevision('elsewhere', 1)).toBeNull();
      expect((await store.createRevision('elsewhere', { label: 'x', user: null, state: s1 })).id).toBe(1);
    });
  });
}
