import { beforeEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import type { DocumentLog, StoreLifecycle } from '../storage/store.js';
import { portConformance, type ConformanceFactory } from './port-conformance.js';
import { docFromStored as load, textUpdate } from './yjs-fixtures.js';

/**
 * The DocumentLog port's contract: `getLog` returns the log under test (made fresh for each test by the
 * caller). storeConformance runs it on a whole Store; documentLogConformance runs it on a log alone.
 */
export function documentLogContract(getLog: () => DocumentLog): void {
  describe('document log', () => {
    let store: DocumentLog;
    beforeEach(() => {
      store = getLog();
    });

    it('returns null for a room that was never written', async () => {
      expect(await store.loadRoom('nothing-here')).toBeNull();
    });

    it('assigns increasing per-room seqs and loads updates in order', async () => {
      const u1 = textUpdate('a', 1);
      const u2 = textUpdate('b', 2);
      expect(await store.appendUpdate('r1', u1)).toBe(1);
      expect(await store.appendUpdate('r1', u2)).toBe(2);
      expect(await store.appendUpdate('r2', u1)).toBe(1);
      const loaded = await store.loadRoom('r1');
      expect(loaded).toEqual({ snapshot: null, snapshotSeq: 0, updates: [u1, u2], lastSeq: 2 });
    });

    it('group-commits appends from one tick with distinct seqs', async () => {
      const seqs = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.appendUpdate('g', textUpdate(`x${i}`, i + 1))),
      );
      expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect((await store.loadRoom('g'))?.updates).toHaveLength(50);
    });

    it('compaction keeps content and later updates, and loads as snapshot + tail', async () => {
      const doc = new Y.Doc();
      for (let i = 0; i < 5; i++) {
        const before = Y.encodeStateVector(doc);
        doc.getText('t').insert(0, String(i));
        await store.appendUpdate('c', Y.encodeStateAsUpdate(doc, before));
      }
      await store.compact('c', 5, Y.encodeStateAsUpdate(doc));
      const later = textUpdate('z', 99);
      expect(await store.appendUpdate('c', later)).toBe(6);
      const loaded = (await store.loadRoom('c'))!;
      expect(loaded.snapshotSeq).toBe(5);
      expect(loaded.updates).toEqual([later]);
      expect(loaded.lastSeq).toBe(6);
      expect(load(loaded).getText('t').toString()).toContain('43210');
    });

    it('ignores a compaction older than the current snapshot or beyond the log', async () => {
      await store.appendUpdate('o', textUpdate('a', 1));
      await store.appendUpdate('o', textUpdate('b', 2));
      await store.compact('o', 2, textUpdate('ab-state', 3));
      await store.compact('o', 1, textUpdate('stale', 4));
      await store.compact('o', 99, textUpdate('future', 5));
      const loaded = (await store.loadRoom('o'))!;
      expect(loaded.snapshotSeq).toBe(2);
      expect(load(loaded).getText('t').toString()).toBe('ab-state');
    });

    it('reads the tail after a seq, or null once a compaction folded part of it', async () => {
      const u = [1, 2, 3, 4].map((i) => textUpdate(`t${i}`, i));
      for (const update of u) await store.appendUpdate('tail', update);
      expect(await store.loadTail('tail', 2)).toEqual({ updates: [u[2], u[3]], lastSeq: 4 });
      expect(await store.loadTail('tail', 4)).toEqual({ updates: [], lastSeq: 4 });
      expect(await store.loadTail('never-written', 0)).toBeNull();
      await store.compact('tail', 3, Y.mergeUpdates(u.slice(0, 3)));
      expect(await store.loadTail('tail', 2)).toBeNull();
      expect(await store.loadTail('tail', 3)).toEqual({ updates: [u[3]], lastSeq: 4 });
    });

    it('reports the last seq of many rooms in one call', async () => {
      await store.appendUpdate('s1', textUpdate('a', 1));
      await store.appendUpdate('s1', textUpdate('b', 2));
      await store.appendUpdate('s2', textUpdate('c', 3));
      expect(await store.lastSeqs(['s1', 's2', 'missing'])).toEqual(
        new Map([
          ['s1', 2],
          ['s2', 1],
        ]),
      );
      expect(await store.lastSeqs([])).toEqual(new Map());
    });

    it('stores bytes, not references to the caller buffer', async () => {
      const u = textUpdate('abc');
      const copy = u.slice();
      await store.appendUpdate('copy', u);
      u.fill(0);
      expect((await store.loadRoom('copy'))?.updates[0]).toEqual(copy);
    });
  });
}

/** A document log on its own (a store that keeps only the Yjs log, say), as vitest tests. */
export function documentLogConformance(name: string, factory: ConformanceFactory<DocumentLog & StoreLifecycle>): void {
  portConformance(`DocumentLog conformance: ${name}`, factory, documentLogContract);
}
