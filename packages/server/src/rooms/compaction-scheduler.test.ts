import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { silentLogger } from '../ops/logger.js';
import { Metrics } from '../ops/metrics.js';
import { MemoryStore } from '../storage/memory/memory-store.js';
import { CompactionScheduler } from './compaction-scheduler.js';
import { RoomPersistence } from './room-persistence.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

const textUpdate = (doc: Y.Doc, text: string): Uint8Array => {
  let update: Uint8Array | null = null;
  const capture = (u: Uint8Array): void => {
    update = u;
  };
  doc.on('update', capture);
  doc.getText('t').insert(0, text);
  doc.off('update', capture);
  return update!;
};

describe('CompactionScheduler', () => {
  it('runs requests in order, one per event-loop turn', async () => {
    const scheduler = new CompactionScheduler();
    const ran: number[] = [];
    for (const n of [1, 2, 3]) scheduler.request(() => ran.push(n));
    expect(ran).toEqual([]);
    await nextTurn();
    expect(ran).toEqual([1]);
    await nextTurn();
    expect(ran).toEqual([1, 2]);
    // A request made while others wait goes after them.
    scheduler.request(() => ran.push(4));
    await nextTurn();
    await nextTurn();
    expect(ran).toEqual([1, 2, 3, 4]);
    expect(scheduler.waiting).toBe(0);
    scheduler.request(() => ran.push(5));
    await nextTurn();
    expect(ran).toEqual([1, 2, 3, 4, 5]);
  });

  it('spreads rooms that reach the threshold together over separate turns', async () => {
    const store = new MemoryStore();
    const scheduler = new CompactionScheduler();
    let turn = 0;
    let counting = true;
    const tick = (): void => {
      turn++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const compactedInTurn = new Map<string, number[]>();
    const compact = store.compact.bind(store);
    vi.spyOn(store, 'compact').mockImplementation((room, upto, state) => {
      compactedInTurn.set(room, [...(compactedInTurn.get(room) ?? []), turn]);
      return compact(room, upto, state);
    });
    const rooms = ['a', 'b', 'c'].map((name) => {
      const doc = new Y.Doc();
      const persistence = new RoomPersistence(
        name,
        { snapshot: () => Y.encodeStateAsUpdate(doc) },
        store,
        silentLogger(),
        { compactAfterUpdates: 2, compactions: scheduler },
        { lastSeq: 0, tailLength: 0, tailBytes: 0, snapshotBytes: 0 },
        new Metrics(),
      );
      return { doc, persistence };
    });
    try {
      // Five updates each, well past the threshold of two, written in the same turns for every room.
      for (let i = 0; i < 5; i++) {
        await Promise.all(rooms.map(({ doc, persistence }) => persistence.persist(textUpdate(doc, `${i}`))));
      }
      while (scheduler.waiting > 0) await nextTurn();
      await Promise.all(rooms.map(({ persistence }) => persistence.idle()));
    } finally {
      counting = false;
    }
    const turns = [...compactedInTurn.values()].flat();
    expect(new Set(turns).size).toBe(turns.length); // never two in one turn
    for (const { doc } of rooms) expect(doc.getText('t').toString()).toBe('43210');
    for (const name of ['a', 'b', 'c']) {
      const stored = await store.loadRoom(name);
      // Compacted at least once, and what it holds still loads to the full text.
      expect(stored?.snapshot).not.toBeNull();
      const loaded = new Y.Doc();
      Y.applyUpdate(loaded, stored!.snapshot!);
      for (const u of stored!.updates) Y.applyUpdate(loaded, u);
      expect(loaded.getText('t').toString()).toBe('43210');
    }
  });
});
