import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { silentLogger } from '../ops/logger.js';
import { Metrics } from '../ops/metrics.js';
import { MemoryStore } from '../storage/memory/memory-store.js';
import { CompactionScheduler } from './compaction-scheduler.js';
import { RoomPersistence } from './room-persistence.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Room `r` of `doc` on `store`, compacting after 10 updates; `updates` collects the doc's updates. */
function persistedDoc(store: MemoryStore, lastSeq: number, appliedThrough?: () => number | null) {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => updates.push(u));
  const persistence = (snapshotBytes: number): RoomPersistence =>
    new RoomPersistence(
      'r',
      { snapshot: () => Y.encodeStateAsUpdate(doc) },
      store,
      silentLogger(),
      { compactAfterUpdates: 10, compactions: new CompactionScheduler(), appliedThrough },
      { lastSeq, tailLength: 0, tailBytes: 0, snapshotBytes },
      new Metrics(),
    );
  return { doc, updates, persistence };
}

describe('RoomPersistence compaction', () => {
  it('waits until the tail is a quarter of the snapshot, not only the update count', async () => {
    const store = new MemoryStore();
    const compact = vi.spyOn(store, 'compact');
    const room = persistedDoc(store, 1);
    const { doc, updates } = room;
    const text = doc.getText('t');
    // A 40 KB document, stored as one snapshot.
    text.insert(0, 'x'.repeat(40_000));
    await store.appendUpdate('r', updates[0]!);
    await store.compact('r', 1, Y.encodeStateAsUpdate(doc));
    compact.mockClear();
    const snapshotBytes = Y.encodeStateAsUpdate(doc).length;
    const persistence = room.persistence(snapshotBytes);
    let tailBytes = 0;
    const write = async (chars: number): Promise<void> => {
      text.insert(text.length, 'y'.repeat(chars));
      tailBytes += updates.at(-1)!.length;
      await persistence.persist(updates.at(-1)!);
      await nextTurn();
      await persistence.idle();
    };
    // Past the count (10 updates) but far below a quarter of the snapshot's bytes: no compaction.
    for (let i = 0; i < 20; i++) await write(10);
    expect(tailBytes * 4).toBeLessThan(snapshotBytes);
    expect(compact).not.toHaveBeenCalled();
    // The tail's bytes reach a quarter of the snapshot's: compacted once.
    await write(snapshotBytes / 4);
    await nextTurn();
    await persistence.idle();
    expect(compact).toHaveBeenCalledTimes(1);
    const stored = await store.loadRoom('r');
    expect(stored!.updates).toEqual([]);
    const loaded = new Y.Doc();
    Y.applyUpdate(loaded, stored!.snapshot!);
    expect(loaded.getText('t').toString()).toBe(text.toString());
  });

  it('compacts a small document at the update count', async () => {
    const store = new MemoryStore();
    const compact = vi.spyOn(store, 'compact');
    const room = persistedDoc(store, 0);
    const { doc, updates } = room;
    const persistence = room.persistence(0);
    for (let i = 0; i < 9; i++) {
      doc.getText('t').insert(0, 'a');
      await persistence.persist(updates.at(-1)!);
    }
    await nextTurn();
    expect(compact).not.toHaveBeenCalled();
    doc.getText('t').insert(0, 'a');
    await persistence.persist(updates.at(-1)!);
    await nextTurn();
    await persistence.idle();
    expect(compact).toHaveBeenCalledTimes(1);
  });

  it('with other instances, rows a compaction could not fold still count towards the next one', async () => {
    const store = new MemoryStore();
    const compact = vi.spyOn(store, 'compact');
    // The bus lags: the room's state is known complete only up to five commits behind the last.
    let lastSeq = 0;
    const room = persistedDoc(store, 0, () => Math.max(0, lastSeq - 5));
    const { doc, updates } = room;
    const persistence = room.persistence(0);
    const write = async (): Promise<void> => {
      doc.getText('t').insert(0, 'a');
      await persistence.persist(updates.at(-1)!);
      lastSeq = persistence.committedSeq;
      await nextTurn();
      await persistence.idle();
    };
    for (let i = 0; i < 10; i++) await write();
    expect(compact).toHaveBeenCalledTimes(1);
    expect(compact.mock.calls[0]![1]).toBe(5);
    // Five rows stayed in the store's tail: five more writes make ten again.
    for (let i = 0; i < 4; i++) await write();
    expect(compact).toHaveBeenCalledTimes(1);
    await write();
    expect(compact).toHaveBeenCalledTimes(2);
    expect(compact.mock.calls[1]![1]).toBe(10);
    expect((await store.loadRoom('r'))!.updates).toHaveLength(5);
  });
});
